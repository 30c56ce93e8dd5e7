//! The check report: each claim's verdict, method, counterexample, diagnosis and corrected
//! formula, as a worksheet in text, Markdown or LaTeX (tera templates `check.txt`,
//! `check.md`, `check.tex`, overridable like the derivation's), or as the JSON of
//! docs/json.md. Prose from the checker is plain Unicode; here it is escaped for each format.

use serde::Serialize;

use serde_json::{Map, Value, json};

use crate::analysis::check::{
    Checked, Diagnosis, Edit, FactorRole, GateShare, Mistake, Scaling, summary,
};
use crate::core::error::Diagnostic;
use crate::core::expr::{Func, Id, Node};
use crate::core::number::float;
use crate::render::FormulaPrinter;
use crate::render::document::{Format, Layout, render_template, template_error, templates};
use crate::render::escape::{latex_prose, latex_text, markdown_prose};

#[derive(Serialize)]
struct ClaimView {
    number: usize,
    claim: String,
    verdict: &'static str,
    method: String,
    counterexample: Option<String>,
    claimed_value: Option<String>,
    true_value: Option<String>,
    diagnosis: Option<String>,
    corrected: Option<String>,
}

#[derive(Serialize)]
struct ReportView {
    source: String,
    claims: Vec<ClaimView>,
    summary: String,
}

#[derive(Serialize)]
struct JsonClaim<'a> {
    claim: &'a str,
    verdict: &'static str,
    method: &'a str,
    counterexample: Option<serde_json::Map<String, serde_json::Value>>,
    diagnosis: Option<String>,
    mistake: Option<Value>,
    claimed_value: Option<f64>,
    true_value: Option<f64>,
    corrected: Option<String>,
    corrected_latex: Option<String>,
    expected: Option<String>,
    expected_latex: Option<String>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    claims: Vec<JsonClaim<'a>>,
    summary: String,
}

/// Writes the report in the format asked for.
pub fn render_check(
    checked: &[Checked],
    format: Format,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let tera = templates(layout)?;
    let sentences = checked
        .iter()
        .map(|c| diagnosis_with(&tera, c))
        .collect::<Result<Vec<_>, _>>()?;
    if format == Format::Json {
        return Ok(json_report(checked, &sentences));
    }
    let prose = |text: &str| match format {
        Format::Latex => latex_prose(text),
        Format::Markdown => markdown_prose(text),
        _ => text.to_string(),
    };
    let view = ReportView {
        source: prose(&layout.source_name),
        claims: checked
            .iter()
            .enumerate()
            .zip(&sentences)
            .map(|((i, c), sentence)| ClaimView {
                number: i + 1,
                claim: match format {
                    Format::Latex => latex_text(&c.claim),
                    // Inside a code span nothing needs escaping but the backtick itself.
                    Format::Markdown => c.claim.replace('`', "'"),
                    _ => c.claim.clone(),
                },
                verdict: c.verdict.word(),
                method: prose(&c.method),
                counterexample: c
                    .counterexample
                    .as_ref()
                    .map(|point| prose(&describe_point(point))),
                claimed_value: c
                    .claimed_value
                    .map(|v| prose(&distinct(v, c.true_value.unwrap_or(v)))),
                true_value: c
                    .true_value
                    .map(|v| prose(&distinct(v, c.claimed_value.unwrap_or(v)))),
                diagnosis: sentence.as_deref().map(prose),
                corrected: c.corrected.map(|id| {
                    let printer = FormulaPrinter::new(&c.formulas.graph, &c.formulas.symbols);
                    match format {
                        Format::Text => printer.plain(id),
                        _ => printer.latex(id),
                    }
                }),
            })
            .collect(),
        summary: summary(checked),
    };
    let template = match format {
        Format::Text => "check.txt",
        Format::Markdown => "check.md",
        Format::Latex => "check.tex",
        Format::Json => unreachable!("JSON is written above"),
    };
    let title = format!("Claims checked against {}", view.source);
    let mut text = render_template(
        template,
        &view,
        (format == Format::Latex).then_some(title.as_str()),
        layout,
    )?;
    // The report ends its last line, so a shell prompt or an error does not run into it.
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn json_report(checked: &[Checked], sentences: &[Option<String>]) -> String {
    let report = JsonReport {
        claims: checked
            .iter()
            .zip(sentences)
            .map(|(c, sentence)| {
                let printer = FormulaPrinter::new(&c.formulas.graph, &c.formulas.symbols);
                JsonClaim {
                    claim: &c.claim,
                    verdict: c.verdict.word(),
                    method: &c.method,
                    counterexample: c.counterexample.as_ref().map(|point| {
                        point
                            .iter()
                            .map(|(name, v)| (name.clone(), serde_json::json!(v)))
                            .collect()
                    }),
                    diagnosis: sentence.clone(),
                    mistake: c
                        .mistake()
                        .map(|m| Value::Object(mistake_fields(c, m, Style::Json))),
                    claimed_value: c.claimed_value,
                    true_value: c.true_value,
                    corrected: c.corrected.map(|id| printer.plain(id)),
                    corrected_latex: c.corrected.map(|id| printer.latex(id)),
                    expected: c.expected.map(|id| printer.plain(id)),
                    expected_latex: c.expected.map(|id| printer.latex(id)),
                }
            })
            .collect(),
        summary: summary(checked),
    };
    crate::render::json::document(&report)
}

/// The diagnosis of a judgement in one sentence, worded by the built-in `mistake.txt`.
pub fn diagnosis(checked: &Checked) -> Option<String> {
    let tera = templates(&Layout::default()).expect("the built-in templates parse");
    diagnosis_with(&tera, checked).expect("the built-in templates render")
}

fn diagnosis_with(tera: &tera::Tera, checked: &Checked) -> Result<Option<String>, Diagnostic> {
    let Some(diagnosis) = &checked.diagnosis else {
        return Ok(None);
    };
    sentence(tera, checked, diagnosis.mistake.as_ref(), diagnosis).map(Some)
}

/// One mistake's sentence; a mistake within the gradient of an update rule is worded first
/// on its own and then framed.
fn sentence(
    tera: &tera::Tera,
    checked: &Checked,
    mistake: Option<&Mistake>,
    diagnosis: &Diagnosis,
) -> Result<String, Diagnostic> {
    let mut fields = match mistake {
        Some(m) => mistake_fields(checked, m, Style::Words),
        None => {
            let mut none = Map::new();
            none.insert("variant".into(), json!("unexplained"));
            none
        }
    };
    if let Some(Mistake::InUpdateGradient(inner)) = mistake {
        let plain = Diagnosis {
            mistake: None,
            out_of_budget: false,
            holds_at_given_point: false,
        };
        let inner = sentence(tera, checked, Some(inner), &plain)?;
        fields.insert("inner".into(), json!(lowercase_first(&inner)));
    }
    let mut context = tera::Context::new();
    context.insert("m", &fields);
    context.insert("holds_at_given_point", &diagnosis.holds_at_given_point);
    context.insert("out_of_budget", &diagnosis.out_of_budget);
    let text = tera
        .render("mistake.txt", &context)
        .map_err(template_error)?;
    Ok(text.trim().to_string())
}

/// Data for the JSON (formulas plain, numbers as numbers) or for the wording (formulas and
/// numbers as a reader sees them).
#[derive(Copy, Clone, PartialEq)]
enum Style {
    Json,
    Words,
}

/// A mistake's kind and what it refers to, as named fields.
fn mistake_fields(checked: &Checked, mistake: &Mistake, style: Style) -> Map<String, Value> {
    let formulas = &checked.formulas;
    let printer = FormulaPrinter::new(&formulas.graph, &formulas.symbols);
    let formula = |id: Id| -> Value {
        match style {
            Style::Json => json!(printer.plain(id)),
            Style::Words => json!(printer.text(id)),
        }
    };
    // A name alone is shown as the program writes it.
    let written = |id: Id| -> Value {
        match formulas.graph.node(id) {
            Node::Var(s) if style == Style::Words => json!(formulas.name(*s)),
            _ => formula(id),
        }
    };
    let number = |v: f64| -> Value {
        match style {
            Style::Json => json!(v),
            Style::Words => json!(float(v)),
        }
    };
    let name = |s| json!(formulas.name(s));
    let function = |f: Func| match (style, f) {
        (Style::Words, Func::Sigmoid) => "σ",
        _ => f.name(),
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
            put("function", json!(function(*f)));
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
                Style::Words => put("rounded", json!(format!("{truth:.decimals$}"))),
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
            if let Some((before, after)) = cost_before_after {
                put("cost_before", number(*before));
                put("cost_after", number(*after));
            }
            "ascent"
        }
        Mistake::NotUpdated { parameter } => {
            put("parameter", name(*parameter));
            "not_updated"
        }
        Mistake::BiasDecayed { parameter } => {
            put("parameter", name(*parameter));
            "bias_decayed"
        }
        Mistake::MissingLearningRate { parameter, cost } => {
            put("parameter", name(*parameter));
            put("cost", name(*cost));
            "missing_learning_rate"
        }
        Mistake::ChangeForNewValue { parameter, cost } => {
            put("parameter", name(*parameter));
            put("cost", name(*cost));
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
            "missing_path"
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
        Mistake::RoutingGate {
            function: f,
            argument,
            share,
        } => {
            put("function", json!(f.name()));
            put("argument", formula(*argument));
            put(
                "share",
                json!(match share {
                    GateShare::Whole => "whole",
                    GateShare::Split => "split",
                    GateShare::Reversed => "reversed",
                }),
            );
            "routing_gate"
        }
        Mistake::ChainStopped { at, wrt, of } => {
            put("at", name(*at));
            put("wrt", name(*wrt));
            put("of", name(*of));
            "chain_stopped"
        }
        Mistake::UpstreamOnly { at, wrt, of } => {
            put("at", name(*at));
            put("wrt", name(*wrt));
            put("of", name(*of));
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
        Mistake::SigmaPrimeKept { factor } => {
            put("factor", formula(*factor));
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
    };
    if style == Style::Words {
        out.insert("variant".into(), json!(variant));
    }
    out
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

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// A point as a reader takes it in: every name, or for a large network each value shared by
/// many names once ("784 names = 1 (x1, x2, …)") and the rest by name (JSON keeps all).
fn describe_point(point: &[(String, f64)]) -> String {
    const LISTED: usize = 12;
    let entry = |(name, v): &(String, f64)| format!("{name} = {}", float(*v));
    // A small network's point is shown whole: the reader's own `--at` values among it.
    if point.len() <= 2 * LISTED {
        return point.iter().map(entry).collect::<Vec<_>>().join(", ");
    }
    let mut groups: Vec<(f64, Vec<&str>)> = Vec::new();
    for (name, v) in point {
        match groups.iter_mut().find(|(c, _)| c.to_bits() == v.to_bits()) {
            Some((_, names)) => names.push(name),
            None => groups.push((*v, vec![name])),
        }
    }
    let mut parts: Vec<String> = Vec::new();
    let mut single = 0;
    for (v, names) in &groups {
        if names.len() > 3 {
            parts.push(format!(
                "{} names = {} ({}, {}, …)",
                names.len(),
                float(*v),
                names[0],
                names[1]
            ));
        } else {
            for name in names {
                if single < LISTED {
                    parts.push(format!("{name} = {}", float(*v)));
                }
                single += 1;
            }
        }
    }
    if single > LISTED {
        parts.push(format!("{} more (all in --format json)", single - LISTED));
    }
    parts.join(", ")
}

/// A value with six significant digits, or as many more as it takes to tell it from
/// `other` (0.6224594 against 0.62245933), for a reader rather than a parser.
fn distinct(value: f64, other: f64) -> String {
    let shown = |x: f64, digits: usize| format!("{:.*e}", digits - 1, x);
    let digits = (6..=17)
        .find(|&d| value == other || shown(value, d) != shown(other, d))
        .unwrap_or(17);
    let text: f64 = shown(value, digits).parse().unwrap_or(value);
    float(text)
}

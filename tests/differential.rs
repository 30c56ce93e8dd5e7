//! A differential test of the reference and the warnings: random programs (chains of sums,
//! products, activations, their derivatives, exp, log and sqrt) at random points, from
//! moderate values to far into saturation, evaluated by chainrule and by an independent
//! evaluator written here: forward-mode dual numbers in dashu floats at 4,096 bits with the
//! textbook formulas (no error bounds, no stable forms), checked against a second run at
//! 8,192 bits (a point where either run cancels to an exact 0 is skipped). It counts
//!
//! - wrong references: a reference (a value or a derivative) that disagrees with the
//!   independent value at the digits it prints (an unresolved reference must contain it);
//! - false alarms: points with a float64 warning where every printed value is in fact within
//!   2^-41 of the truth;
//! - silences: points where a printed value is more than 2^-41 off and nothing was said.
//!
//! and requires 0 wrong references, 0 silences and false alarms under 5% of warned points.
//! Run with `--nocapture` to see the counts.

use chainrule::EvalRequest;
use chainrule::TargetSpec;
use chainrule::WarningKind;
use chainrule::core::eval::{Precise, Resolution};
use dashu_base::Sign;
use dashu_float::Context;
use dashu_float::round::mode::HalfEven;

type F = chainrule::core::eval::Big;

/// A definition of the random program, over earlier names (by index into the name list).
#[derive(Clone, Debug)]
enum Def {
    Affine(usize, usize, usize),
    Call(&'static str, usize),
    Sub(usize, usize),
    Mul(usize, usize),
    OneMinus(usize),
    LogSigmoid(usize),
    SqrtSquarePlusOne(usize),
}

const FUNCTIONS: &[&str] = &[
    "sigmoid", "tanh", "softplus", "exp", "relu", "abs", "sigmoid'", "tanh'",
];

struct Program {
    /// Leaves first: x, y, w, b.
    names: Vec<String>,
    defs: Vec<Def>,
    /// Whether the cost is (last − y)^2 rather than the last name itself.
    squared: bool,
}

impl Program {
    fn random(rng: &mut fastrand::Rng) -> Program {
        let mut names: Vec<String> = ["x", "y", "w", "b"].iter().map(|s| s.to_string()).collect();
        let mut defs = Vec::new();
        let count = rng.usize(2..=4);
        for i in 0..count {
            let n = names.len();
            // mostly over the newest names, so the chain is deep
            let pick = |rng: &mut fastrand::Rng| {
                if n > 4 && rng.bool() {
                    n - 1
                } else {
                    [0, 2, 3].get(rng.usize(0..3)).copied().unwrap().min(n - 1)
                }
            };
            let def = match if i == 0 { 0 } else { rng.usize(0..7) } {
                0 => Def::Affine(2, if n > 4 { n - 1 } else { 0 }, 3),
                1 | 2 => Def::Call(FUNCTIONS[rng.usize(0..FUNCTIONS.len())], pick(rng)),
                3 => Def::Sub(pick(rng), pick(rng)),
                4 => Def::Mul(pick(rng), pick(rng)),
                5 => match rng.usize(0..3) {
                    0 => Def::OneMinus(pick(rng)),
                    1 => Def::LogSigmoid(pick(rng)),
                    _ => Def::SqrtSquarePlusOne(pick(rng)),
                },
                _ => Def::Call(FUNCTIONS[rng.usize(0..FUNCTIONS.len())], pick(rng)),
            };
            defs.push(def);
            names.push(format!("h{i}"));
        }
        Program {
            names,
            defs,
            squared: rng.bool(),
        }
    }

    fn source(&self) -> String {
        let mut out = String::from("input x\ntarget y\nparam w\nparam b\n");
        for (i, def) in self.defs.iter().enumerate() {
            let n = |k: usize| self.names[k].as_str();
            let body = match def {
                Def::Affine(a, b, c) => format!("{}*{} + {}", n(*a), n(*b), n(*c)),
                Def::Call(f, a) => format!("{f}({})", n(*a)),
                Def::Sub(a, b) => format!("{} - {}", n(*a), n(*b)),
                Def::Mul(a, b) => format!("{}*{}", n(*a), n(*b)),
                Def::OneMinus(a) => format!("1 - {}", n(*a)),
                Def::LogSigmoid(a) => format!("log(sigmoid({}))", n(*a)),
                Def::SqrtSquarePlusOne(a) => format!("sqrt({}^2 + 1)", n(*a)),
            };
            out.push_str(&format!("{} = {body}\n", self.names[4 + i]));
        }
        let last = self.names.last().unwrap();
        if self.squared {
            out.push_str(&format!("cost C = ({last} - y)^2\n"));
        } else {
            out.push_str(&format!("cost C = {last} + 0*y\n"));
        }
        out
    }
}

/// A value with its derivatives with respect to w and b.
#[derive(Clone)]
struct Dual {
    v: F,
    d: [F; 2],
}

/// The independent evaluator: textbook formulas at a fixed precision.
struct Exact {
    ctx: Context<HalfEven>,
    /// Set when a sum of non-zero terms came out exactly 0: at this precision the truth is
    /// not known (1 − σ(20000)), so the point is skipped.
    cancelled: std::cell::Cell<bool>,
}

/// Arguments beyond this make the independent evaluator give up on the point (e^(e^1000)).
const EXP_ARGUMENT_LIMIT: f64 = 1e5;

impl Exact {
    fn c(&self, x: &F) -> F {
        self.ctx.add(x.repr(), F::ZERO.repr()).value()
    }
    fn add(&self, a: &F, b: &F) -> F {
        let r = self.ctx.add(a.repr(), b.repr()).value();
        if r == F::ZERO && *a != F::ZERO {
            self.cancelled.set(true);
        }
        r
    }
    fn sub(&self, a: &F, b: &F) -> F {
        let r = self.ctx.sub(a.repr(), b.repr()).value();
        if r == F::ZERO && *a != F::ZERO {
            self.cancelled.set(true);
        }
        r
    }
    fn mul(&self, a: &F, b: &F) -> F {
        self.ctx.mul(a.repr(), b.repr()).value()
    }
    fn div(&self, a: &F, b: &F) -> F {
        self.ctx.div(a.repr(), b.repr()).value()
    }
    fn exp(&self, a: &F) -> Option<F> {
        if a.to_f64().value().abs() > EXP_ARGUMENT_LIMIT {
            return None;
        }
        Some(self.ctx.exp(a.repr()).value())
    }
    fn ln(&self, a: &F) -> Option<F> {
        if a.sign() == Sign::Negative || *a == F::ZERO {
            return None;
        }
        Some(self.ctx.ln(a.repr()).value())
    }
    fn sigmoid(&self, a: &F) -> Option<F> {
        let e = self.exp(&-a.clone())?;
        Some(self.div(&F::ONE, &self.add(&F::ONE, &e)))
    }
    fn tanh(&self, a: &F) -> Option<F> {
        let e = self.exp(&self.mul(&F::from(2), a))?;
        Some(self.div(&self.sub(&e, &F::ONE), &self.add(&e, &F::ONE)))
    }
    /// `f(u)` and `f'(u)`.
    fn call(&self, f: &str, u: &F) -> Option<(F, F)> {
        let one = F::ONE;
        Some(match f {
            "sigmoid" => {
                let s = self.sigmoid(u)?;
                let d = self.mul(&s, &self.sub(&one, &s));
                (s, d)
            }
            "tanh" => {
                let t = self.tanh(u)?;
                let d = self.sub(&one, &self.mul(&t, &t));
                (t, d)
            }
            "softplus" => (self.ln(&self.add(&one, &self.exp(u)?))?, self.sigmoid(u)?),
            "exp" => {
                let e = self.exp(u)?;
                (e.clone(), e)
            }
            "relu" => {
                if u.sign() == Sign::Positive && *u != F::ZERO {
                    (u.clone(), one)
                } else {
                    (F::ZERO, F::ZERO)
                }
            }
            "abs" => match (u.sign(), *u == F::ZERO) {
                (_, true) => (F::ZERO, F::ZERO),
                (Sign::Positive, _) => (u.clone(), one),
                (Sign::Negative, _) => (-u.clone(), -one),
            },
            "sigmoid'" => {
                let s = self.sigmoid(u)?;
                let p = self.mul(&s, &self.sub(&one, &s));
                let d = self.mul(&p, &self.sub(&one, &self.mul(&F::from(2), &s)));
                (p, d)
            }
            "tanh'" => {
                let t = self.tanh(u)?;
                let p = self.sub(&one, &self.mul(&t, &t));
                let d = self.mul(&self.mul(&F::from(-2), &t), &p);
                (p, d)
            }
            "log" => (self.ln(u)?, self.div(&one, u)),
            "sqrt" => {
                let r = self.ctx.sqrt(u.repr()).value();
                let d = self.div(&one, &self.mul(&F::from(2), &r));
                (r, d)
            }
            _ => unreachable!("{f}"),
        })
    }
    fn chain(&self, f: &str, a: &Dual) -> Option<Dual> {
        let (v, slope) = self.call(f, &a.v)?;
        Some(Dual {
            v,
            d: [self.mul(&slope, &a.d[0]), self.mul(&slope, &a.d[1])],
        })
    }
    fn dadd(&self, a: &Dual, b: &Dual, sign: i8) -> Dual {
        let op = |x: &F, y: &F| {
            if sign > 0 {
                self.add(x, y)
            } else {
                self.sub(x, y)
            }
        };
        Dual {
            v: op(&a.v, &b.v),
            d: [op(&a.d[0], &b.d[0]), op(&a.d[1], &b.d[1])],
        }
    }
    fn dmul(&self, a: &Dual, b: &Dual) -> Dual {
        let d = |i: usize| self.add(&self.mul(&a.v, &b.d[i]), &self.mul(&b.v, &a.d[i]));
        Dual {
            v: self.mul(&a.v, &b.v),
            d: [d(0), d(1)],
        }
    }

    /// Every name's value and the cost's gradient (∂C/∂w, ∂C/∂b), or `None` where the
    /// evaluator gives up (a value not a real number, an astronomically large argument).
    fn run(&self, program: &Program, leaves: &[F; 4]) -> Option<(Vec<F>, [F; 2])> {
        let leaf = |i: usize| Dual {
            v: self.c(&leaves[i]),
            d: [
                if i == 2 { F::ONE } else { F::ZERO },
                if i == 3 { F::ONE } else { F::ZERO },
            ],
        };
        let mut vals: Vec<Dual> = (0..4).map(leaf).collect();
        for def in &program.defs {
            let v = match def {
                Def::Affine(a, b, c) => self.dadd(&self.dmul(&vals[*a], &vals[*b]), &vals[*c], 1),
                Def::Call(f, a) => self.chain(f, &vals[*a])?,
                Def::Sub(a, b) => self.dadd(&vals[*a], &vals[*b], -1),
                Def::Mul(a, b) => self.dmul(&vals[*a], &vals[*b]),
                Def::OneMinus(a) => {
                    let one = Dual {
                        v: F::ONE,
                        d: [F::ZERO, F::ZERO],
                    };
                    self.dadd(&one, &vals[*a], -1)
                }
                Def::LogSigmoid(a) => self.chain("log", &self.chain("sigmoid", &vals[*a])?)?,
                Def::SqrtSquarePlusOne(a) => {
                    let sq = self.dmul(&vals[*a], &vals[*a]);
                    let one = Dual {
                        v: F::ONE,
                        d: [F::ZERO, F::ZERO],
                    };
                    self.chain("sqrt", &self.dadd(&sq, &one, 1))?
                }
            };
            if v.v.to_f64().value().abs() > 1e300 && v.v.repr().exponent() > 100_000 {
                return None;
            }
            vals.push(v);
        }
        let last = vals.last().unwrap().clone();
        let cost = if program.squared {
            let diff = self.dadd(&last, &vals[1], -1);
            self.dmul(&diff, &diff)
        } else {
            last
        };
        let mut values: Vec<F> = vals.iter().map(|d| d.v.clone()).collect();
        values.push(cost.v.clone());
        Some((values, cost.d))
    }
}

/// |a − b| ≤ tol·|b| (both zero counts as equal).
fn close(a: &F, b: &F, tol: f64) -> bool {
    let ctx = Context::<HalfEven>::new(128);
    if *b == F::ZERO {
        return *a == F::ZERO;
    }
    let rel = ctx
        .div(ctx.sub(a.repr(), b.repr()).value().repr(), b.repr())
        .value();
    rel.to_f64().value().abs() <= tol
}

fn as_big(p: &Precise) -> Option<F> {
    p.as_big().cloned()
}

/// Whether the reference agrees with the truth at the digits it prints (17).
fn reference_right(reference: &Precise, resolution: &Resolution, truth: &F) -> bool {
    match resolution {
        Resolution::Converged => {
            match as_big(&Precise::parse_decimal(&reference.to_decimal_string(17), 256).unwrap()) {
                Some(r) => close(&r, truth, 1e-16),
                None => false,
            }
        }
        Resolution::Within { low, high } => {
            let lo = as_big(&Precise::Finite(low.clone())).unwrap();
            let hi = as_big(&Precise::Finite(high.clone())).unwrap();
            lo <= *truth && *truth <= hi
        }
        Resolution::Unknown => true,
    }
}

/// Whether float64's value is more than 2^-41 relative off the truth.
fn lost(value: f64, truth: &F) -> bool {
    if !value.is_finite() {
        return true;
    }
    let exact = Precise::Finite(truth.clone());
    match exact.rel_error(value) {
        Some(r) => r > 2f64.powi(-41),
        None => true,
    }
}

const XS: &[&str] = &[
    "0.5", "-1.3", "7", "-20", "60", "200", "-700", "1000", "1e-3", "35.5",
];
const WS: &[&str] = &["1", "-0.8", "2.5", "10", "0.01"];
const BS: &[&str] = &["0", "0.1", "-3", "25"];
const YS: &[&str] = &["0", "1", "0.5"];

/// The leaf values a run draws from.
struct Magnitudes {
    xs: &'static [&'static str],
    ws: &'static [&'static str],
    bs: &'static [&'static str],
}

#[test]
fn references_are_right_and_warnings_are_raised_where_float64_loses_and_only_there() {
    let counts = differential(
        20261128,
        300,
        &Magnitudes {
            xs: XS,
            ws: WS,
            bs: BS,
        },
    );
    assert!(counts.points >= 200, "{}", counts.points);
}

/// Magnitudes up to 1e±300 (float64's edges): the references must still agree with the
/// independent evaluator at every digit printed.
#[test]
fn references_are_right_at_magnitudes_up_to_1e300() {
    let counts = differential(
        7,
        200,
        &Magnitudes {
            xs: &[
                "1e300",
                "-1e300",
                "1e-300",
                "-2.5e-300",
                "1e150",
                "3e-200",
                "0.5",
            ],
            ws: &["1e-300", "1e300", "-1e-150", "1", "1e-10"],
            bs: &["0", "1e-300", "-1e300", "0.5"],
        },
    );
    assert!(counts.points >= 100, "{}", counts.points);
}

struct Counts {
    points: usize,
}

/// Runs `programs` random programs; asserts no wrong reference, no silence and false alarms
/// under 5% of warned points, and prints the counts.
fn differential(seed: u64, programs: usize, magnitudes: &Magnitudes) -> Counts {
    let (xs, ws, bs) = (magnitudes.xs, magnitudes.ws, magnitudes.bs);
    let mut rng = fastrand::Rng::with_seed(seed);
    let low = Exact {
        ctx: Context::new(4096),
        cancelled: Default::default(),
    };
    let high = Exact {
        ctx: Context::new(8192),
        cancelled: Default::default(),
    };
    let (mut points, mut references, mut wrong, mut warned, mut false_alarms, mut silences) =
        (0usize, 0usize, Vec::new(), 0usize, Vec::new(), Vec::new());
    let mut skipped = 0usize;
    for _ in 0..programs {
        let program = Program::random(&mut rng);
        let source = program.source();
        let at = [
            xs[rng.usize(0..xs.len())],
            YS[rng.usize(0..YS.len())],
            ws[rng.usize(0..ws.len())],
            bs[rng.usize(0..bs.len())],
        ];
        let leaves: [F; 4] = at.map(|t| as_big(&Precise::parse_decimal(t, 2048).unwrap()).unwrap());
        low.cancelled.set(false);
        high.cancelled.set(false);
        let (Some(lo), Some(hi)) = (low.run(&program, &leaves), high.run(&program, &leaves)) else {
            skipped += 1;
            continue;
        };
        if high.cancelled.get() {
            skipped += 1;
            continue;
        };
        // the independent truth must itself be settled
        let settled =
            lo.0.iter()
                .zip(&hi.0)
                .chain(lo.1.iter().zip(&hi.1))
                .all(|(a, b)| close(a, b, 1e-30));
        if !settled {
            skipped += 1;
            continue;
        }
        let (values, gradient) = hi;
        let mut model = chainrule::load(&source).unwrap();
        let text = format!("x={},y={},w={},b={}", at[0], at[1], at[2], at[3]);
        let given = chainrule::values(&model, &text).unwrap();
        let targets = chainrule::targets(&model, &TargetSpec::AllParams).unwrap();
        let request = EvalRequest {
            targets,
            ..Default::default()
        };
        let report = chainrule::evaluate(&mut model, &given, &request).unwrap();
        points += 1;
        let mut truths: Vec<(&chainrule::analysis::numeric::Quantity, F)> = Vec::new();
        for q in &report.values {
            let i = program
                .names
                .iter()
                .position(|n| *n == q.label)
                .unwrap_or(values.len() - 1);
            truths.push((q, values[i].clone()));
        }
        for q in &report.derivatives {
            let i = if q.label == "dC/dw" { 0 } else { 1 };
            truths.push((q, gradient[i].clone()));
        }
        let mut any_lost = false;
        for (q, truth) in &truths {
            references += 1;
            if !reference_right(&q.reference, &q.resolution, truth) {
                wrong.push(format!(
                    "{source}at {text}: {} reference {} ({:?}), truth {}",
                    q.label,
                    q.reference.to_decimal_string(17),
                    q.resolution,
                    Precise::Finite(truth.clone()).to_decimal_string(17)
                ));
            }
            any_lost |= lost(q.f64, truth);
        }
        let warnings: Vec<_> = report
            .warnings
            .iter()
            .filter(|w| {
                !matches!(
                    w.kind,
                    WarningKind::VanishingGradient | WarningKind::InputOutOfRange
                )
            })
            .collect();
        if !warnings.is_empty() {
            warned += 1;
            if !any_lost {
                false_alarms.push(format!("{source}at {text}: {warnings:?}"));
            }
        } else if any_lost {
            silences.push(format!("{source}at {text}"));
        }
    }
    println!(
        "differential (seed {seed}): {points} points ({skipped} skipped by the independent evaluator), {references} references, {} wrong; {warned} points warned, {} false alarms; {} silences",
        wrong.len(),
        false_alarms.len(),
        silences.len()
    );
    for alarm in false_alarms.iter().take(5) {
        println!("false alarm: {alarm}");
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(silences.is_empty(), "{}", silences.join("\n"));
    assert!(
        false_alarms.len() * 20 < warned.max(1),
        "{} of {warned}:\n{}",
        false_alarms.len(),
        false_alarms.join("\n")
    );
    Counts { points }
}

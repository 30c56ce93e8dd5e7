//! Values beyond the magnitudes held, in log form: where a node's value is out of range
//! (e^(1e200), say, whose binary exponent no float holds), the pass keeps `±e^ln` with `ln` a
//! finite number and a bound on its error, and works quotients, products, powers, sums and
//! logarithms of such values in that form. What comes back into range (exp(wx)/exp(wx) = 1, a
//! softmax's p = e^z1/(e^z1 + e^z2), log(exp(x)) = x) is a finite value again with an honest
//! error bound; what does not stays out of range.

use super::*;

/// `±e^ln`, with `ln` of a bound on the absolute error of `ln` (`-inf` when exact).
#[derive(Clone, Debug)]
pub(super) struct LogForm {
    negative: bool,
    ln: Big,
    err: f64,
}

/// The log form of an operand: its own, kept by the pass, or that of its finite value.
pub(super) type Operand<'a> = (&'a Val, Option<&'a LogForm>);

impl LogForm {
    /// The log form of a finite non-zero value known to better than its magnitude.
    fn of_value(v: &Val, p: &Prec) -> Option<LogForm> {
        let b = v.v.as_big()?;
        if is_zero(b) || v.lerr >= -1.0 {
            return None;
        }
        let magnitude = abs_big(b);
        let ln = ln_pos(p.work, &magnitude);
        let exact = matches!(ln, Approximation::Exact(_));
        let ln = ln.value();
        let rounding = if exact { NEG_INF } else { ln_abs(&ln) + p.lu };
        // |ln(1 + r)| <= r / (1 − r) <= 2r for r <= 1/e
        Some(LogForm {
            negative: is_neg(b),
            ln,
            err: logsumexp(&[ln_neg_ln1p_neg(v.lerr), rounding]),
        })
    }

    fn of(operand: Operand<'_>, p: &Prec) -> Option<LogForm> {
        match operand {
            (_, Some(form)) => Some(form.clone()),
            (v, None) => LogForm::of_value(v, p),
        }
    }
}

/// The node in log form from its operands, where the rules above apply; `None` otherwise.
pub(super) fn log_form<'a>(
    node: &Node,
    p: &Prec,
    operand: &dyn Fn(Id) -> Operand<'a>,
) -> Option<Found> {
    let w = Ctx::new(p.work);
    let rounded = |x: Big| -> (Big, f64) {
        let r = round_to(&x, p.work);
        let inexact = !matches!(r, Approximation::Exact(_));
        let v = r.value();
        let e = if inexact { ln_abs(&v) + p.lu } else { NEG_INF };
        (v, e)
    };
    let form = match node {
        Node::Call(Func::Exp, u) => {
            let (u, own) = operand(*u);
            if own.is_some() {
                return None;
            }
            let ln = u.v.as_big()?.clone();
            LogForm {
                negative: false,
                ln,
                err: u.abs_err(),
            }
        }
        // The sign of a value in log form is known, however small or large it is.
        Node::Call(f @ (Func::ReluPrime | Func::Sign | Func::Relu | Func::Abs), x) => {
            let (_, Some(x)) = operand(*x) else {
                return None;
            };
            let exact = |v: i8| Found::Value(Val::exact(Precise::Finite(Big::from(v))));
            return Some(match (f, x.negative) {
                (Func::ReluPrime, negative) => exact(if negative { 0 } else { 1 }),
                (Func::Sign, negative) => exact(if negative { -1 } else { 1 }),
                (Func::Relu, true) => exact(0),
                _ => Found::Form(LogForm {
                    negative: false,
                    ..x.clone()
                }),
            });
        }
        Node::Call(Func::Log, x) => {
            let x = LogForm::of(operand(*x), p)?;
            if x.negative {
                return None;
            }
            return Some(Found::Value(finite_from(x.ln, x.err, p)));
        }
        Node::Mul(xs) => {
            let mut negative = false;
            let mut ln = Big::ZERO;
            let mut errs = Vec::with_capacity(xs.len() + 1);
            for &x in xs.iter() {
                let f = LogForm::of(operand(x), p)?;
                negative ^= f.negative;
                let (sum, e) = rounded(w.add(ln.repr(), f.ln.repr()).value());
                ln = sum;
                errs.push(f.err);
                errs.push(e);
            }
            LogForm {
                negative,
                ln,
                err: logsumexp(&errs),
            }
        }
        Node::Pow(base, exponent) => {
            let (e, own) = operand(*exponent);
            if own.is_some() {
                return None;
            }
            let e_big = e.v.as_big()?.clone();
            let b = LogForm::of(operand(*base), p)?;
            if b.negative {
                return None;
            }
            let (ln, rounding) = rounded(w.mul(b.ln.repr(), e_big.repr()).value());
            LogForm {
                negative: false,
                err: logsumexp(&[
                    ln_abs(&e_big) + b.err,
                    ln_abs(&b.ln) + e.abs_err(),
                    rounding,
                ]),
                ln,
            }
        }
        Node::Add(xs) => {
            let forms: Vec<LogForm> = xs
                .iter()
                .filter_map(|&x| match operand(x) {
                    // an exact zero adds nothing
                    (v, None) if v.v.is_zero() && v.lerr == NEG_INF => None,
                    o => Some(LogForm::of(o, p)),
                })
                .collect::<Option<Vec<_>>>()?;
            let largest = forms.iter().map(|f| &f.ln).max()?.clone();
            let largest_err = forms
                .iter()
                .find(|f| f.ln == largest)
                .map_or(NEG_INF, |f| f.err);
            // Σ ±e^(ln_i − m): each term at most 1, the largest exactly 1.
            let mut sum = Big::ZERO;
            let mut term_errs = Vec::with_capacity(forms.len());
            for f in &forms {
                let d = w.sub(f.ln.repr(), largest.repr()).value();
                let (t, t_ln) = if d == Big::ZERO {
                    (Big::ONE, 0.0)
                } else {
                    match p.exp_work(&d) {
                        Some(t) => {
                            let t = round_to(&t, p.work).value();
                            let l = ln_abs(&t);
                            (t, l)
                        }
                        // below any precision: the term only widens the bound
                        None => {
                            term_errs.push(approx(&d));
                            (Big::ZERO, approx(&d))
                        }
                    }
                };
                term_errs.push(t_ln + ln_expm1_of_ln(logsumexp(&[f.err, largest_err])));
                term_errs.push(t_ln + p.lu);
                let t = if f.negative { -t } else { t };
                sum = w.add(sum.repr(), t.repr()).value();
            }
            if is_zero(&sum) {
                return None;
            }
            let ln_sum = ln_abs(&sum);
            let relative = logsumexp(&term_errs) - ln_sum;
            if relative >= -1.0 {
                // the sum's sign or size is not known
                return None;
            }
            let ln_of_sum = ln_pos(p.work, &abs_big(&sum)).value();
            let (ln, rounding) = rounded(w.add(largest.repr(), ln_of_sum.repr()).value());
            LogForm {
                negative: is_neg(&sum),
                ln,
                err: logsumexp(&[largest_err, ln_neg_ln1p_neg(relative), rounding]),
            }
        }
        _ => return None,
    };
    Some(Found::Form(form))
}

/// What a node is in log form: a value again (a logarithm), or `±e^ln`.
pub(super) enum Found {
    Value(Val),
    Form(LogForm),
}

/// The value of a log form: finite where `ln` is in range (with the error bound `e^err` on
/// `ln` as a relative error), and beyond the magnitudes held a zero within its magnitude
/// (far below) or out of range (far above), the form kept (`true`) for what uses it.
pub(super) fn value_of(form: &LogForm, p: &Prec) -> (Val, bool) {
    // an upper bound on ln|value|
    let bound = approx(&form.ln);
    let upper = bound + form.err.exp();
    if bound == NEG_INF || upper < -(EXP_LIMIT as f64) {
        // far below: a zero within its magnitude, however uncertain its log
        return (Val::zero_within(upper.max(-f64::MAX)), true);
    }
    if form.err >= 0.0 || !bound.is_finite() {
        // the magnitude is not known to a factor e, or is beyond e^(1.8e308)
        return (Val::out_of_range().shaky_if(form.err >= 0.0), true);
    }
    match p.exp_work(&form.ln) {
        Some(e) => {
            let e = if form.negative { -e } else { e };
            let lerr = logsumexp(&[ln_expm1_of_ln(form.err), p.lu]);
            (Val::finite(p.round(&e), lerr), false)
        }
        None if bound < 0.0 => (Val::zero_within(upper), true),
        None => (Val::out_of_range(), true),
    }
}

/// A finite value with an absolute error bound `e^err` (a logarithm of a value in log form).
fn finite_from(value: Big, err: f64, p: &Prec) -> Val {
    if is_zero(&value) {
        return Val::zero_within(err);
    }
    let lr = ln_abs(&value);
    Val::finite(p.round(&value), logsumexp(&[lsub(err, lr), p.lu]))
}

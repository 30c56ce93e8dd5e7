//! Arithmetic at one precision: each operation of the graph (sums, products, powers and the
//! built-in functions) in cancellation-free forms, with its error bound.

use super::*;

/// The most terms of a sum added one at a time, rounding each partial sum: more are added
/// exactly and rounded once (for two or three terms the integer path costs more than it saves).
const FEW_TERMS: usize = 3;

/// The arithmetic of one precision.
pub(super) struct Prec {
    pub(super) bits: usize,
    /// The working precision of the transcendental functions.
    pub(super) work: usize,
    /// `ln` of the relative error one rounding may add (2^(1-bits), with a factor 2 to spare).
    pub(super) lu: f64,
}

impl Prec {
    pub(super) fn new(bits: usize) -> Prec {
        let bits = bits.clamp(MIN_PRECISION, MAX_PRECISION);
        Prec {
            bits,
            work: bits + GUARD,
            lu: (1.0 - bits as f64) * LN_2,
        }
    }

    pub(super) fn ctx(&self) -> Ctx {
        Ctx::new(self.bits)
    }

    pub(super) fn sum(&self, xs: &[&Val]) -> Val {
        if let Some(v) = special(xs) {
            return v;
        }
        // An exact zero adds neither a value nor a rounding: a regularised gradient δ·x + λ·w/n
        // at an input x = 0 (most pixels of a digit) is its penalty term as it is.
        let mut nonzero = xs.iter().filter(|x| !x.is_exact_zero());
        if let (Some(only), None) = (nonzero.next(), nonzero.next())
            && only.v.as_big().is_some_and(|b| !is_zero(b))
        {
            return Val {
                shaky: false,
                ..(*only).clone()
            };
        }
        let terms: Vec<&Big> = xs.iter().filter_map(|x| x.v.as_big()).collect();
        let Some((first, rest)) = terms.split_first() else {
            return Val::exact(Precise::Finite(Big::ZERO));
        };
        let mut roundings: Vec<f64> = Vec::new();
        let exact = if terms.len() > FEW_TERMS {
            exact_sum(&terms)
        } else {
            None
        };
        let acc = match exact {
            // Added exactly and rounded once: a long sum (a penalty's Σw² over every weight)
            // costs one integer addition a term rather than a rounded addition of floats.
            Some(exact) => match round_to(&exact, self.bits) {
                Approximation::Exact(v) => v,
                Approximation::Inexact(v, _) => {
                    roundings.push(ln_abs(&v) + self.lu);
                    v
                }
            },
            None => {
                let ctx = self.ctx();
                let mut acc: Big = (*first).clone();
                roundings.reserve(rest.len());
                for t in rest {
                    let r = add(&ctx, &acc, t);
                    if let Approximation::Inexact(v, _) = &r {
                        roundings.push(ln_abs(v) + self.lu);
                    }
                    acc = r.value();
                }
                acc
            }
        };
        let ls = ln_abs(&acc);
        let mut parts: Vec<f64> = xs.iter().map(|x| lsub(x.abs_err(), ls)).collect();
        parts.extend(roundings.iter().map(|&r| lsub(r, ls)));
        if is_zero(&acc) {
            let mut absolute: Vec<f64> = xs.iter().map(|x| x.abs_err()).collect();
            absolute.extend(roundings);
            return Val::zero_within(logsumexp(&absolute));
        }
        Val::finite(acc, logsumexp(&parts))
    }

    pub(super) fn product(&self, xs: &[&Val]) -> Val {
        if !xs.iter().any(|x| x.v == Precise::Undefined) && xs.iter().any(|x| x.is_exact_zero()) {
            return Val::exact(Precise::Finite(Big::ZERO));
        }
        if let Some(v) = special(xs) {
            return v;
        }
        if xs.iter().any(|x| x.v.is_zero()) {
            let bound: f64 = xs.iter().map(|x| x.ln_magnitude_bound()).sum();
            return Val::zero_within(bound);
        }
        let mut factors = xs.iter().filter_map(|x| x.v.as_big());
        let Some(first) = factors.next() else {
            return Val::exact(Precise::Finite(Big::ONE));
        };
        let mut acc: Option<Big> = None;
        let mut inexact = 0usize;
        for f in factors {
            let (product, rounded) = mul_rounded(acc.as_ref().unwrap_or(first), f, self.bits);
            inexact += usize::from(rounded);
            acc = Some(product);
        }
        let acc = acc.unwrap_or_else(|| first.clone());
        let rounding = if inexact > 0 {
            (inexact as f64).ln() + self.lu
        } else {
            NEG_INF
        };
        let l = logsumexp_iter(xs.iter().map(|x| x.lerr).chain([rounding]));
        let lerr = if l < 0.0 {
            // Π(1 + r_i) - 1 <= e^S - 1 <= S(1 + S) for S = Σ r_i <= 1
            l + l.exp().ln_1p()
        } else {
            let s: f64 = xs.iter().map(|x| x.lerr.exp().ln_1p()).sum::<f64>()
                + inexact as f64 * self.lu.exp().ln_1p();
            s.exp_m1().ln()
        };
        Val::finite(acc, lerr)
    }

    /// A transcendental result: `prop` is `ln` of the absolute error propagated from the
    /// argument; one rounding is added unless the value is exact.
    pub(super) fn finish(&self, value: Big, prop: f64, exact: bool) -> Val {
        if is_zero(&value) {
            return Val::zero_within(prop);
        }
        let lr = ln_abs(&value);
        let rounding = if exact { NEG_INF } else { self.lu };
        Val::finite(value, logsumexp(&[lsub(prop, lr), rounding]))
    }

    pub(super) fn round(&self, x: &Big) -> Big {
        round_to(x, self.bits).value()
    }

    /// `e^x` at the working precision (plus the bits the argument's size costs), or `None`
    /// beyond the exp limit.
    pub(super) fn exp_work(&self, x: &Big) -> Option<Big> {
        if abs_big(x) > limit(EXP_LIMIT) {
            return None;
        }
        let extra = (approx(x).abs() + 1.0).log2().ceil() as usize;
        Some(Ctx::new(self.work + extra).exp(x.repr()).value())
    }

    pub(super) fn call(&self, f: Func, x: &Val) -> Val {
        if let Some(v) = special(&[x]) {
            return v;
        }
        let b = x.v.as_big().expect("finite");
        let w = Ctx::new(self.work);
        let one = Big::ONE;
        let ax = abs_big(b);
        let xf = approx(&ax);
        let ld = x.abs_err();
        // the distance from 0 of the nearest point the true argument may be at
        let d = if x.lerr >= 0.0 {
            0.0
        } else {
            xf * -(x.lerr.exp_m1())
        };
        let zero = is_zero(b);
        // where the activations saturate
        let big_arg = ax > limit(SATURATE);
        match f {
            Func::Sigmoid => {
                if zero {
                    return self.finish(
                        Big::from_parts(IBig::ONE, -1),
                        ld + ln_sigmoid_prime(d),
                        true,
                    );
                }
                let value = if big_arg && !is_neg(b) {
                    Big::ONE
                } else {
                    let Some(t) = self.exp_work(&-ax.clone()) else {
                        // σ(−X) < e^−X: beyond any magnitude held
                        return Val::zero_within(-d);
                    };
                    let den = add(&w, &one, &t).value();
                    let num = if is_neg(b) { t } else { one };
                    self.round(&w.div(num.repr(), den.repr()).value())
                };
                self.finish(value, ld + ln_sigmoid_prime(d), false)
            }
            Func::Tanh => {
                if zero {
                    return self.finish(Big::ZERO, ld, true);
                }
                let value = if big_arg {
                    Big::ONE
                } else {
                    // tanh|x| = -m / (2 + m) with m = e^{-2|x|} - 1
                    let y = -(ax.clone() << 1);
                    let extra = (xf + 1.0).log2().ceil() as usize + 1;
                    let m = Ctx::new(self.work + extra).exp_m1(y.repr()).value();
                    let den = w.add(Big::from(2).repr(), m.repr()).value();
                    self.round(&w.div((-m).repr(), den.repr()).value())
                };
                let value = if is_neg(b) { -value } else { value };
                self.finish(value, ld + ln_sech2(d), false)
            }
            Func::Softplus => {
                if big_arg && !is_neg(b) {
                    // ln(1 + e^x) = x + ln(1 + e^-x), and e^-x is far below any precision
                    return self.finish(self.round(b), ld, false);
                }
                let value = if is_neg(b) || zero {
                    let Some(t) = self.exp_work(b) else {
                        // softplus(−X) < e^−X
                        return Val::zero_within(-d);
                    };
                    ln_1p(&w, &t)
                } else {
                    let t = self.exp_work(&-b.clone()).expect("within the limit");
                    let l = ln_1p(&w, &t);
                    add(&w, b, &l).value()
                };
                let xd = if x.lerr >= 0.0 {
                    INF
                } else {
                    approx(b) + xf * x.lerr.exp()
                };
                self.finish(self.round(&value), ld - lse(-xd), false)
            }
            Func::Exp => {
                if zero {
                    return Val::finite(Big::ONE, ln_expm1_of_ln(ld));
                }
                let Some(value) = self.exp_work(b) else {
                    return if is_neg(b) {
                        Val::zero_within(-d)
                    } else {
                        Val::out_of_range()
                    };
                };
                let lerr = logsumexp(&[ln_expm1_of_ln(ld), self.lu]);
                Val::finite(self.round(&value), lerr)
            }
            Func::Log => {
                if zero || is_neg(b) {
                    return Val::undefined(x.sign_certain());
                }
                let value = ln_pos(self.work, b);
                let exact = matches!(value, Approximation::Exact(_));
                let value = self.round(&value.value());
                self.finish(value, ln_neg_ln1p_neg(x.lerr), exact)
                    .shaky_if(!x.sign_certain())
            }
            Func::Sqrt => self.sqrt(x),
            Func::Abs if zero => x.clone(),
            Func::Abs => Val::finite(ax, x.lerr),
            Func::Relu => {
                if is_neg(b) || zero {
                    if x.sign_certain() {
                        Val::exact(Precise::Finite(Big::ZERO))
                    } else {
                        // relu moves nothing further than its argument moves
                        Val::zero_within(x.abs_err())
                    }
                } else {
                    Val::finite(b.clone(), x.lerr)
                }
            }
            Func::Sign => {
                let value = if zero {
                    Big::ZERO
                } else if is_neg(b) {
                    -Big::ONE
                } else {
                    Big::ONE
                };
                Val::finite(value, if x.sign_certain() { NEG_INF } else { INF })
            }
            Func::ReluPrime => {
                let value = if is_neg(b) || zero {
                    Big::ZERO
                } else {
                    Big::ONE
                };
                Val::finite(value, if x.sign_certain() { NEG_INF } else { INF })
            }
            Func::SigmoidPrime => {
                if zero {
                    return self.finish(
                        Big::from_parts(IBig::ONE, -2),
                        ld + ln_sigmoid_prime(d),
                        true,
                    );
                }
                // σ'(x) = t / (1 + t)² with t = e^{-|x|}
                let Some(t) = self.exp_work(&-ax.clone()) else {
                    // σ'(x) < e^−|x|
                    return Val::zero_within(-d);
                };
                let den = w.sqr(add(&w, &one, &t).value().repr()).value();
                let value = self.round(&w.div(t.repr(), den.repr()).value());
                self.finish(value, ld + ln_sigmoid_prime(d), false)
            }
            Func::TanhPrime => {
                if zero {
                    return self.finish(Big::ONE, LN_2 + ld + ln_sech2(d), true);
                }
                // sech²(x) = 4t / (1 + t)² with t = e^{-2|x|}
                let Some(t) = self.exp_work(&-(ax.clone() << 1)) else {
                    // sech²(x) < 4e^−2|x|
                    return Val::zero_within(4f64.ln() - 2.0 * d);
                };
                let den = w.sqr(add(&w, &one, &t).value().repr()).value();
                let num = t << 2;
                let value = self.round(&w.div(num.repr(), den.repr()).value());
                self.finish(value, LN_2 + ld + ln_sech2(d), false)
            }
            Func::Sin | Func::Cos => {
                if top(b) > SIN_COS_LIMIT {
                    // past float64's range no reduction by π/2 is worth its bits: the value is
                    // known only as within 1
                    return Val::zero_within(0.0);
                }
                if zero {
                    let value = if f == Func::Sin { Big::ZERO } else { Big::ONE };
                    return self.finish(value, ld, true);
                }
                let (s, c) = special::sin_cos(b, self.work);
                let value = if f == Func::Sin { s } else { c };
                // |sin′|, |cos′| ≤ 1
                self.finish(self.round(&value), ld, false)
            }
            Func::Erf | Func::Erfc => {
                // |erf′(ξ)| = 2/√π·e^(−ξ²) ≤ 2/√π·e^(−d²)
                let prop = ld + LN_2 - 0.5 * std::f64::consts::PI.ln() - d * d;
                if zero {
                    let value = if f == Func::Erf { Big::ZERO } else { Big::ONE };
                    return self.finish(value, prop, true);
                }
                if special::erfc_beyond_range(b) {
                    let tail = -xf * xf;
                    return match (f, is_neg(b)) {
                        (Func::Erfc, false) => Val::zero_within(tail),
                        (Func::Erfc, true) => self.finish(Big::from(2), prop, false),
                        (_, negative) => {
                            let one = if negative { -Big::ONE } else { Big::ONE };
                            self.finish(one, logsumexp(&[prop, tail]), false)
                        }
                    };
                }
                let value = if f == Func::Erf {
                    special::erf(b, self.work)
                } else {
                    special::erfc(b, self.work)
                };
                self.finish(self.round(&value), prop, false)
            }
            Func::Gelu | Func::Silu => {
                if zero {
                    return self.finish(Big::ZERO, ld, true);
                }
                // GELU′ = Φ + ξφ(ξ) and SiLU′ = σ(ξ)(1 + ξ(1 − σ(ξ))) are at most 1.2; for
                // ξ ≤ −d ≤ −1 they are below (1 + |ξ|)·φ(d) and (1 + |ξ|)·e^(−d)
                let reach = (1.0 + xf + ld.exp()).ln();
                let tail = if f == Func::Gelu {
                    reach - d * d / 2.0 - 0.5 * (2.0 * std::f64::consts::PI).ln()
                } else {
                    reach - d
                };
                let slope = if is_neg(b) && d >= 1.0 {
                    tail.min(1.2f64.ln())
                } else {
                    1.2f64.ln()
                };
                let prop = ld + slope;
                if f == Func::Gelu {
                    // x·Φ(x) < e^(−x²/2) for x ≪ 0, past the magnitudes held
                    if is_neg(b) && xf * xf / 2.0 > EXP_LIMIT as f64 {
                        return Val::zero_within(-xf * xf / 2.0 + xf.ln());
                    }
                    return self.finish(self.round(&special::gelu(b, self.work)), prop, false);
                }
                // x·σ(x), with e^(−|x|) so that nothing overflows
                let Some(t) = self.exp_work(&-ax.clone()) else {
                    return if is_neg(b) {
                        Val::zero_within(xf.ln() - d)
                    } else {
                        self.finish(self.round(b), prop, false)
                    };
                };
                let den = add(&w, &one, &t).value();
                let num = if is_neg(b) {
                    w.mul(b.repr(), t.repr()).value()
                } else {
                    b.clone()
                };
                self.finish(
                    self.round(&w.div(num.repr(), den.repr()).value()),
                    prop,
                    false,
                )
            }
        }
    }

    /// `max` or `min`: the argument picked, exactly. When the arguments' error bounds
    /// overlap, the true values may be ordered the other way; the result still moves no
    /// further than the arguments do, so it is within the larger of their absolute errors.
    pub(super) fn call2(&self, f: Func2, a: &Val, b: &Val) -> Val {
        if let Some(v) = special(&[a, b]) {
            return v;
        }
        if !f.is_gate() {
            return self.activation2(f, a, b);
        }
        let (x, y) = (a.v.as_big().expect("finite"), b.v.as_big().expect("finite"));
        let picked = if f.picks_first(x, y) { a } else { b };
        let err = logsumexp(&[a.abs_err(), b.abs_err()]);
        let gap = ln_abs(&add(&Ctx::new(64), x, &-y.clone()).value());
        if gap > err {
            return picked.clone();
        }
        match picked.v.as_big() {
            Some(v) if !is_zero(v) => Val::finite(v.clone(), lsub(err, ln_abs(v))),
            _ => Val::zero_within(err),
        }
    }

    /// leaky_relu, elu, their derivatives and huber from the operations they are made of,
    /// on the branch the first argument's value picks (in doubt when its sign, or huber's
    /// `|r| ≤ δ`, is: each is continuous there but for the derivatives).
    fn activation2(&self, f: Func2, z: &Val, p: &Val) -> Val {
        let x = z.v.as_big().expect("finite");
        let positive = !is_neg(x) && !is_zero(x);
        let doubt = !z.sign_certain();
        let one = Val::exact(Precise::Finite(Big::ONE));
        let half = Val::exact(Precise::Finite(Big::from_parts(IBig::ONE, -1)));
        match f {
            Func2::LeakyRelu if positive => z.clone(),
            Func2::LeakyRelu => self.product(&[p, z]),
            Func2::LeakyReluPrime if positive => one.shaky_if(doubt),
            Func2::LeakyReluPrime => p.clone().shaky_if(doubt),
            Func2::Elu if positive => z.clone(),
            Func2::Elu => {
                // α(e^z − 1), with e^z − 1 computed without cancelling; |(e^z − 1)′| ≤ 1
                let em1 = if is_zero(x) {
                    Val::zero_within(z.abs_err())
                } else if abs_big(x) > limit(EXP_LIMIT) {
                    // e^z − 1 = −1 within e^z, far below any precision
                    Val::finite(-Big::ONE, self.lu)
                } else {
                    let v = Ctx::new(self.work).exp_m1(x.repr()).value();
                    self.finish(self.round(&v), z.abs_err(), false)
                };
                self.product(&[p, &em1])
            }
            Func2::EluPrime if positive => one.shaky_if(doubt),
            Func2::EluPrime => {
                let e = self.call(Func::Exp, z);
                self.product(&[p, &e]).shaky_if(doubt)
            }
            Func2::Huber => {
                let r = self.call(Func::Abs, z);
                let delta = p.v.as_big().expect("finite");
                if abs_big(x) <= *delta {
                    self.product(&[&half, &r, &r])
                } else {
                    let minus_half = Val::exact(Precise::Finite(-Big::from_parts(IBig::ONE, -1)));
                    let shift = self.product(&[&minus_half, p]);
                    let gap = self.sum(&[&r, &shift]);
                    self.product(&[p, &gap])
                }
            }
            Func2::Max | Func2::Min => unreachable!("the gates pick an argument"),
        }
    }

    pub(super) fn sqrt(&self, x: &Val) -> Val {
        let b = x.v.as_big().expect("finite");
        if is_neg(b) {
            return Val::undefined(x.sign_certain());
        }
        if is_zero(b) {
            return Val::zero_within(x.abs_err() / 2.0).shaky_if(!x.sign_certain());
        }
        let r = self.ctx().sqrt(b.repr());
        let exact = matches!(r, Approximation::Exact(_));
        // sqrt(1 ± r) is within r of 1 for r < 1
        let prop = if x.lerr >= 0.0 { INF } else { x.lerr };
        let rounding = if exact { NEG_INF } else { self.lu };
        Val::finite(r.value(), logsumexp(&[prop, rounding])).shaky_if(!x.sign_certain())
    }

    pub(super) fn pow(&self, a: &Val, e: &Val) -> Val {
        if let Some(v) = special(&[a, e]) {
            return v;
        }
        let (base, exp) = (a.v.as_big().expect("finite"), e.v.as_big().expect("finite"));
        // A square (a penalty's w², a quadratic cost's (y − a)²) is the base times itself: one
        // rounded multiplication, with the product's bound, rather than the general power's
        // logarithms.
        if is_square(e) {
            return self.product(&[a, a]);
        }
        if is_zero(exp) {
            let exact = e.lerr == NEG_INF;
            return Val::finite(Big::ONE, if exact { NEG_INF } else { INF })
                .shaky_if(!exact && (is_neg(base) || !a.sign_certain()));
        }
        let half = Big::from_parts(IBig::ONE, -1);
        if e.lerr == NEG_INF && *exp == half {
            return self.sqrt(a);
        }
        if is_zero(base) {
            let certain = a.lerr == NEG_INF && e.sign_certain();
            return if is_neg(exp) {
                Val::undefined(certain)
            } else {
                let bound = if e.lerr == NEG_INF && approx(exp) > 0.0 {
                    a.abs_err() * approx(exp)
                } else {
                    INF
                };
                // a base near zero is in doubt only where its sign matters: under an
                // exponent that is not certainly an integer ((h - h)^2 is defined either way)
                let whole = e.lerr == NEG_INF && exp.repr().is_int();
                Val::zero_within(bound).shaky_if(!e.sign_certain() || (!a.sign_certain() && !whole))
            };
        }
        let integer = exp.repr().is_int();
        if !integer && is_neg(base) {
            // certain when no exponent within the error bound is an integer
            let frac = approx(&abs_big(&(exp.clone() - exp.round())));
            let certain = a.sign_certain() && frac.ln() > ln_delta(exp, e.lerr);
            return Val::undefined(certain);
        }

        // a negative base needs an exponent that is certainly an integer; a non-integer one
        // needs a base that is certainly positive
        let doubt = if integer {
            is_neg(base) && e.lerr > NEG_INF
        } else {
            !a.sign_certain()
        };

        // log2|base|, accurately also when |base| is near 1
        let mut log2a = ln_abs(base) / LN_2;
        if log2a.abs() < 1.0 {
            let dm1 = Ctx::new(64)
                .sub(abs_big(base).repr(), Big::ONE.repr())
                .value();
            log2a = approx(&dm1).ln_1p() / LN_2;
        }
        let ef = approx(exp);
        let estimate = if log2a == 0.0 { 0.0 } else { log2a * ef };
        if estimate < -(MAG_LIMIT as f64) && a.lerr < -1.0 && e.lerr < -1.0 {
            // |base|^e below any magnitude held; the estimate comes from 60-bit logarithms,
            // and the operands' errors move it by at most their share
            let slack = estimate.abs() * (1e-12 + 2.0 * (a.lerr.exp() + e.lerr.exp())) + 1.0;
            return Val::zero_within(estimate * LN_2 + slack).shaky_if(doubt);
        }
        if estimate.is_nan() || estimate.abs() > MAG_LIMIT as f64 {
            return Val::out_of_range().shaky_if(doubt);
        }

        let (value, exact) = if integer {
            let r = exp.repr();
            if r.exponent() as i128 + dashu_base::BitTest::bit_len(r.significand()) as i128 > 62 {
                // |base| is (within any precision) 1 here, as the estimate passed: ±1 by
                // parity, and a normalized significand is odd exactly when the exponent is 0
                let odd = r.exponent() == 0;
                (
                    if odd && is_neg(base) {
                        -Big::ONE
                    } else {
                        Big::ONE
                    },
                    true,
                )
            } else {
                let n = exp.to_int().value();
                let r = self.ctx().powi(base.repr(), n);
                let exact = matches!(r, Approximation::Exact(_));
                (r.value(), exact)
            }
        } else {
            let extra = (ef.abs() * log2a.abs() + 1.0).log2().ceil().max(0.0) as usize;
            let w = Ctx::new(self.work + extra);
            let l = ln_pos(w.precision(), base).value();
            let t = w.mul(l.repr(), exp.repr()).value();
            let Some(v) = self.exp_work(&t) else {
                return Val::out_of_range().shaky_if(doubt);
            };
            (self.round(&v), false)
        };

        // the exponent of e the true value may differ by: |b|·(-ln(1 - r_a)) + δ_b·|ln a|
        let lna = (log2a.abs() * LN_2).ln();
        let t = logsumexp(&[
            ln_abs(exp) + ln_neg_ln1p_neg(a.lerr),
            if e.lerr == NEG_INF {
                NEG_INF
            } else {
                ln_delta(exp, e.lerr) + lna
            },
        ]);
        let rounding = if exact { NEG_INF } else { self.lu };
        Val::finite(value, logsumexp(&[ln_expm1_of_ln(t), rounding])).shaky_if(doubt)
    }
}

/// Whether an exponent is exactly 2: the power is then the base times itself, a product (so
/// its base may be given cut as a product's factors are, see [`Val::cut_to`]).
pub(super) fn is_square(e: &Val) -> bool {
    e.lerr == NEG_INF && e.v.as_big().is_some_and(|x| *x == Big::from(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square is taken as the base times itself: the value is the exact square within the
    /// bound it reports, for signs, magnitudes and a base that carries an error of its own,
    /// and the bound is no wider than the general power rule's (a cube divided by the base).
    #[test]
    fn a_square_is_the_exact_square_within_its_bound() {
        let two = Val::exact(Precise::Finite(Big::from(2)));
        for text in ["0.1", "-3.7e-5", "1.0000001", "-12345.678", "7e150", "2"] {
            let x = Precise::parse_decimal(text, 1024).unwrap();
            let exact = x.mul(&x, 4096);
            let exact = exact.as_big().unwrap();
            for (bits, carried) in [(64, NEG_INF), (128, NEG_INF), (128, -90.0)] {
                let p = Prec::new(bits);
                let base = Val::finite(x.as_big().unwrap().clone(), carried);
                let square = p.pow(&base, &two);
                let value = square.v.as_big().unwrap();
                let off = Ctx::new(8192).sub(value.repr(), exact.repr()).value();
                assert!(
                    ln_abs(&off) <= square.lerr + ln_abs(exact) + 1e-9,
                    "{text} at {bits} bits: off by e^{} of e^{}, bound e^{}",
                    ln_abs(&off),
                    ln_abs(exact),
                    square.lerr
                );
                let three = Val::exact(Precise::Finite(Big::from(3)));
                let cube = p.pow(&base, &three);
                let general = p.product(&[
                    &cube,
                    &p.pow(&base, &Val::exact(Precise::Finite(Big::from(-1)))),
                ]);
                assert!(square.lerr <= general.lerr, "{text} at {bits} bits");
            }
        }
    }

    /// A long sum is added exactly and rounded once: its value is the exact sum (computed at
    /// 8,192 bits) within the bound it reports, for terms of mixed signs and magnitudes, with
    /// cancellation, and with terms that carry errors of their own; terms too far apart for
    /// the exact path are still added within the bound.
    #[test]
    fn a_long_sum_is_the_exact_sum_within_its_bound() {
        let cases: [&[&str]; 4] = [
            &["0.1", "0.2", "0.3", "-0.6", "1e-20", "3.5", "-7.25e3"],
            &["1e300", "-1e300", "1e-300", "2.5", "0.1", "0.7"],
            &[
                "0.33", "0.25", "0.125", "0.0625", "1e-5", "-2", "17", "0.001",
            ],
            &["1e-4000", "1", "1e4000", "-1e4000", "0.5"],
        ];
        for texts in cases {
            let xs: Vec<Precise> = texts
                .iter()
                .map(|t| Precise::parse_decimal(t, 1024).unwrap())
                .collect();
            let ctx = Ctx::new(1 << 15);
            let exact = xs.iter().fold(Big::ZERO, |acc, x| {
                ctx.add(acc.repr(), x.as_big().unwrap().repr()).value()
            });
            for (bits, carried) in [(64, NEG_INF), (128, NEG_INF), (128, -80.0)] {
                let p = Prec::new(bits);
                let vals: Vec<Val> = xs
                    .iter()
                    .map(|x| Val::finite(x.as_big().unwrap().clone(), carried))
                    .collect();
                let sum = p.sum(&vals.iter().collect::<Vec<_>>());
                let value = sum.v.as_big().unwrap();
                let off = ctx.sub(value.repr(), exact.repr()).value();
                assert!(
                    ln_abs(&off) <= sum.abs_err() + 1e-9,
                    "{texts:?} at {bits} bits: off by e^{}, bound e^{}",
                    ln_abs(&off),
                    sum.abs_err()
                );
            }
        }
    }
}

//! A value with a bound on its relative error, and the log-domain helpers that bound what
//! rounding may have done (cancellation, saturation) without computing it twice.

use super::*;

/// A value with `lerr`, the natural log of a bound on its relative error.
///
/// `-inf` means exact; `+inf` unknown (a zero computed with rounding error, a sign in doubt).
/// For `Undefined`, `-inf` means certainly undefined and `+inf` possibly a rounding artefact.
/// `shaky` marks a value that might in truth be undefined: a domain decision on the way (the
/// sign under a sqrt or log, whether an exponent of a negative base is an integer) was in doubt.
#[derive(Clone, Debug)]
pub(super) struct Val {
    pub(super) v: Precise,
    pub(super) lerr: f64,
    pub(super) shaky: bool,
    /// For a zero computed with rounding error: `ln` of a bound on the true value's magnitude
    /// (`+inf` when none is known). A relative error says nothing about a zero, and an
    /// identically zero quantity (σ(x) + σ(−x) − 1) is known only through this bound.
    pub(super) zero_err: f64,
}

impl Val {
    /// Zero with no error at all: it adds nothing to a sum and makes a product zero.
    pub(super) fn is_exact_zero(&self) -> bool {
        self.v.is_zero() && self.lerr == NEG_INF
    }

    pub(super) fn exact(v: Precise) -> Val {
        Val {
            v,
            lerr: NEG_INF,
            shaky: false,
            zero_err: NEG_INF,
        }
    }

    /// A zero whose true value is known to be at most `e^bound` in magnitude.
    pub(super) fn zero_within(bound: f64) -> Val {
        if bound == NEG_INF {
            return Val::exact(Precise::Finite(Big::ZERO));
        }
        Val {
            v: Precise::Finite(Big::ZERO),
            lerr: INF,
            shaky: false,
            zero_err: if bound.is_nan() { INF } else { bound },
        }
    }

    /// `ln` of a bound on the absolute error (`+inf` for a value that is not finite).
    pub(super) fn abs_err(&self) -> f64 {
        match &self.v {
            Precise::Finite(b) if is_zero(b) => {
                if self.lerr == NEG_INF {
                    NEG_INF
                } else {
                    self.zero_err
                }
            }
            Precise::Finite(b) => ln_delta(b, self.lerr),
            _ => INF,
        }
    }

    /// `ln` of a bound on the true value's magnitude.
    pub(super) fn ln_magnitude_bound(&self) -> f64 {
        match &self.v {
            Precise::Finite(b) if is_zero(b) => self.abs_err(),
            Precise::Finite(b) => ln_abs(b) + lse(self.lerr),
            _ => INF,
        }
    }

    /// The same value with its significand cut to `bits` (half to even), if it is longer; for a
    /// product, which cuts an operand that long to that many bits anyway (see
    /// [`mul_rounded`]), it is the same factor.
    pub(super) fn cut_to(&self, bits: usize) -> Option<Val> {
        let Precise::Finite(b) = &self.v else {
            return None;
        };
        if dashu_base::BitTest::bit_len(b.repr().significand()) <= bits {
            return None;
        }
        Some(Val {
            v: Precise::Finite(cut_to_bits(b, bits)),
            lerr: self.lerr,
            shaky: self.shaky,
            zero_err: self.zero_err,
        })
    }

    pub(super) fn rounded(v: Precise, exact: bool, lu: f64) -> Val {
        match v {
            Precise::Finite(b) => Val::finite(b, if exact { NEG_INF } else { lu }),
            other => Val::exact(other),
        }
    }

    pub(super) fn finite(b: Big, lerr: f64) -> Val {
        let r = b.repr();
        if !r.is_zero() {
            let top = r.exponent() as i128 + dashu_base::BitTest::bit_len(r.significand()) as i128;
            if top < -MAG_LIMIT {
                // too small to hold: a zero known to within its magnitude, so that what it
                // is added to is not lost with it
                return Val::zero_within(top as f64 * LN_2 + lse(lerr));
            }
            if top > MAG_LIMIT {
                return Val::exact(Precise::OutOfRange);
            }
        }
        let mut lerr = if lerr.is_nan() { INF } else { lerr };
        if r.is_zero() && lerr > NEG_INF {
            lerr = INF;
        }
        Val {
            v: Precise::Finite(b),
            lerr,
            shaky: false,
            zero_err: INF,
        }
    }

    pub(super) fn undefined(certain: bool) -> Val {
        Val {
            v: Precise::Undefined,
            lerr: if certain { NEG_INF } else { INF },
            shaky: false,
            zero_err: INF,
        }
    }

    pub(super) fn shaky_if(mut self, doubt: bool) -> Val {
        self.shaky |= doubt;
        self
    }

    pub(super) fn out_of_range() -> Val {
        Val::exact(Precise::OutOfRange)
    }

    /// Whether the sign of the true value is the sign of the computed one.
    pub(super) fn sign_certain(&self) -> bool {
        self.lerr < 0.0
    }
}

/// The natural log of `|x|` (`-inf` for zero), from the top 60 bits.
pub(super) fn ln_abs(x: &Big) -> f64 {
    if x.repr().is_zero() {
        return NEG_INF;
    }
    // The top 64 bits of the significand (cut, not rounded: the logarithm is good to 2^-63,
    // finer than the error bounds it feeds), without rounding the whole number.
    let TopBits {
        held,
        held_bits,
        below_bits,
        ..
    } = top_bits(x.repr().significand());
    let dropped = held_bits.saturating_sub(64);
    let top = (held >> dropped) as u64;
    let cut = dropped + below_bits;
    (top as f64).ln() + (x.repr().exponent() as f64 + cut as f64) * LN_2
}

/// `ln δ` for `δ = |x|·e^lerr`, the absolute error of a value.
pub(super) fn ln_delta(x: &Big, lerr: f64) -> f64 {
    if lerr == INF {
        INF
    } else if lerr == NEG_INF {
        NEG_INF
    } else {
        ln_abs(x) + lerr
    }
}

/// `ln(a / |r|)` for an absolute error `e^a` on a result `r` with `ln|r| = lr`.
pub(super) fn lsub(a: f64, lr: f64) -> f64 {
    if a == NEG_INF {
        NEG_INF
    } else if lr == NEG_INF {
        INF
    } else {
        a - lr
    }
}

pub(super) fn logsumexp(xs: &[f64]) -> f64 {
    logsumexp_iter(xs.iter().copied())
}

/// [`logsumexp`] of the values an iterator gives (it is walked twice).
pub(super) fn logsumexp_iter(xs: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = xs
        .clone()
        .fold(NEG_INF, |a, b| if b.is_nan() { INF } else { a.max(b) });
    if m == NEG_INF || m == INF {
        return m;
    }
    m + xs.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// `ln(e^{e^t} - 1)`: the relative error of `e^x` when `x` is off by `e^t`.
pub(super) fn ln_expm1_of_ln(t: f64) -> f64 {
    if t < -20.0 {
        t + t.exp() // e^y - 1 <= y(1 + y) for small y
    } else {
        let y = t.exp();
        if y > 700.0 { y } else { y.exp_m1().ln() }
    }
}

/// `ln(-ln(1 - r))` for `r = e^l`: the absolute error of `ln x` when `x` is off by `r` relative.
pub(super) fn ln_neg_ln1p_neg(l: f64) -> f64 {
    if l >= 0.0 {
        INF
    } else if l < -20.0 {
        l + l.exp() // -ln(1-r) <= r(1 + r) for small r
    } else {
        (-(-(l.exp())).ln_1p()).ln()
    }
}

/// `ln(1 + e^a)` in float64 without overflow.
pub(super) fn lse(a: f64) -> f64 {
    if a > 0.0 {
        a + (-a).exp().ln_1p()
    } else {
        a.exp().ln_1p()
    }
}

/// `ln σ'(d)`, the log of the sigmoid's slope at distance `d >= 0` from 0.
pub(super) fn ln_sigmoid_prime(d: f64) -> f64 {
    -d - 2.0 * lse(-d)
}

/// `ln sech²(d)`, the log of tanh's slope at distance `d >= 0` from 0.
pub(super) fn ln_sech2(d: f64) -> f64 {
    (4.0f64).ln() - 2.0 * d - 2.0 * lse(-2.0 * d)
}

/// `ln x` for `x > 0` at `bits`. dashu reduces the argument by an `f32` estimate of its binary
/// exponent, which for exponents beyond ~2^24 can be off by many units and leaves a series that
/// barely converges; so far from 1, split off the exact power of two first.
pub(super) fn ln_pos(bits: usize, x: &Big) -> Rounded<Big> {
    let r = x.repr();
    let k = r.exponent() as i64 + dashu_base::BitTest::bit_len(r.significand()) as i64 - 1; // x / 2^k is in [1, 2)
    if k.unsigned_abs() <= 1 << 20 {
        return Ctx::new(bits).ln(r);
    }
    // |k ln 2| is far above ln m < ln 2, so the sum cannot cancel
    let extra = 64 - k.unsigned_abs().leading_zeros() as usize;
    let w = Ctx::new(bits + extra + 8);
    let m = x.clone() >> k as isize;
    let ln_m = w.ln(m.repr()).value();
    let ln2 = w.ln(Big::from(2).repr()).value();
    let k_ln2 = w.mul(ln2.repr(), Big::from(k).repr()).value();
    let sum = w.add(k_ln2.repr(), ln_m.repr()).value();
    match round_to(&sum, bits) {
        Approximation::Exact(v) => Approximation::Inexact(v, dashu_float::round::Rounding::NoOp),
        inexact => inexact,
    }
}

/// The binary order of `|x|`: `|x|` is in `[2^(top-1), 2^top)`.
pub(super) fn top(x: &Big) -> i64 {
    let r = x.repr();
    r.exponent() as i64 + dashu_base::BitTest::bit_len(r.significand()) as i64
}

/// `a + b` rounded by `ctx`. When one operand lies wholly below half an ulp of the other the
/// sum is the larger one, rounded: dashu would otherwise align the operands across the whole
/// gap, which for magnitudes 2^±10^8 apart costs a 10^8-bit shift.
pub(super) fn add(ctx: &Ctx, a: &Big, b: &Big) -> Rounded<Big> {
    if !is_zero(a) && !is_zero(b) {
        let gap = ctx.precision() as i64 + 2;
        let (ta, tb) = (top(a), top(b));
        let larger = if ta - tb > gap {
            Some(a)
        } else if tb - ta > gap {
            Some(b)
        } else {
            None
        };
        if let Some(l) = larger {
            let v = round_to(l, ctx.precision()).value();
            return Approximation::Inexact(v, dashu_float::round::Rounding::NoOp);
        }
    }
    ctx.add(a.repr(), b.repr())
}

/// The most bits from the lowest bit of the smallest term to the top of the largest that
/// [`exact_sum`] adds exactly; terms further apart are added rounded, one at a time.
const EXACT_SUM_SPAN: i64 = 1 << 14;

/// The exact sum of `terms` (unrounded), or `None` when their bits span more than
/// [`EXACT_SUM_SPAN`]: each significand shifted to the lowest exponent among them and added as
/// an integer.
pub(super) fn exact_sum(terms: &[&Big]) -> Option<Big> {
    let nonzero = || terms.iter().filter(|t| !is_zero(t));
    let low = nonzero().map(|t| t.repr().exponent()).min()?;
    let high = nonzero().map(|t| top(t)).max()?;
    if high - low as i64 > EXACT_SUM_SPAN {
        return None;
    }
    let mut acc = IBig::ZERO;
    for t in nonzero() {
        let r = t.repr();
        acc += r.significand() << (r.exponent() - low) as usize;
    }
    Some(Big::from_parts(acc, low))
}

/// `ln(1 + t)` for `t > 0` at the precision of `ctx` (just `t` when `t` is below that precision).
pub(super) fn ln_1p(ctx: &Ctx, t: &Big) -> Big {
    if top(t) < -(ctx.precision() as i64) - 2 {
        return round_to(t, ctx.precision()).value();
    }
    ctx.ln_1p(t.repr()).value()
}

pub(super) fn round_to(x: &Big, bits: usize) -> Rounded<Big> {
    Ctx::new(bits).add(x.repr(), &Repr::zero())
}

pub(super) fn is_zero(x: &Big) -> bool {
    x.repr().is_zero()
}

pub(super) fn is_neg(x: &Big) -> bool {
    x.sign() == Sign::Negative && !is_zero(x)
}

pub(super) fn abs_big(x: &Big) -> Big {
    if is_neg(x) { -x.clone() } else { x.clone() }
}

pub(super) fn approx(x: &Big) -> f64 {
    nearest_f64(x)
}

pub(super) fn limit(n: i64) -> Big {
    Big::from(n)
}

/// A graph constant at `bits`, and whether it is exact.
pub(super) fn num_value(n: Num, bits: usize) -> (Precise, bool) {
    match n {
        Num::Rat(a, b) => {
            let r = Ctx::new(bits).div(Big::from(a).repr(), Big::from(b).repr());
            let exact = matches!(r, Approximation::Exact(_));
            (Precise::Finite(r.value()), exact)
        }
        Num::Float(x) => match Precise::from_f64(x) {
            Precise::Finite(b) => {
                let r = round_to(&b, bits);
                let exact = matches!(r, Approximation::Exact(_));
                (Precise::Finite(r.value()), exact)
            }
            other => (other, true),
        },
    }
}

/// Combines the operands' special values: `Some` when the result is not a finite computation.
pub(super) fn special(xs: &[&Val]) -> Option<Val> {
    if xs.iter().any(|x| x.v == Precise::Undefined) {
        let certain = xs
            .iter()
            .any(|x| x.v == Precise::Undefined && x.lerr == NEG_INF);
        return Some(Val::undefined(certain));
    }
    if xs.iter().any(|x| x.v == Precise::OutOfRange) {
        return Some(Val::out_of_range());
    }
    None
}

/// The terms of a sum left once the terms of one base whose rational coefficients add to
/// exactly zero are taken out (`h − h`, `2h − h − h`). Interval arithmetic cannot know that
/// two terms are one value, so `h − h` would be a zero of unknown sign, and `sqrt(h − h)`
/// undefined as far as it knows; what cancels exactly is removed before adding. Constant
/// terms cancel too, a variable given as an exact decimal (`decimal`) counted as the constant
/// it is: `x − 0.1` at x = 0.1 is exactly 0, not a zero within the two roundings of 1/10.
pub(super) fn uncancelled_terms(
    graph: &Graph,
    terms: &[Id],
    decimal: &dyn Fn(Id) -> Option<Num>,
) -> Option<Vec<Id>> {
    // The rational value of a constant term: a number, an exact decimal, or their product.
    let constant = |t: &Id| -> Option<Num> {
        let value = |f: &Id| match graph.node(*f) {
            Node::Num(n @ Num::Rat(..)) => Some(*n),
            Node::Var(_) => decimal(*f),
            _ => None,
        };
        match graph.node(*t) {
            Node::Mul(factors) => factors
                .iter()
                .try_fold(Num::ONE, |product, f| Some(product.mul(value(f)?)))
                .filter(|n| matches!(n, Num::Rat(..))),
            _ => value(t),
        }
    };
    let constants: Vec<Num> = terms.iter().filter_map(constant).collect();
    let constants_cancel = constants.len() > 1
        && matches!(
            constants.iter().fold(Num::ZERO, |sum, &c| sum.add(c)),
            Num::Rat(0, _)
        );
    // (coefficient, the rest of the term) for a term `c·rest`, or (1, the term)
    fn split<'a>(graph: &'a Graph, t: &'a Id) -> (Num, &'a [Id]) {
        if let Node::Mul(factors) = graph.node(*t)
            && let [first, rest @ ..] = &factors[..]
            && let Node::Num(c) = graph.node(*first)
        {
            return (*c, rest);
        }
        (Num::ONE, std::slice::from_ref(t))
    }
    // Each term's rest beside its coefficient, sorted by the rest so that the terms of one
    // base lie side by side: no table is built for the two terms of most sums.
    let mut by_base: Vec<(&[Id], Num)> = terms
        .iter()
        .map(|t| {
            let (c, base) = split(graph, t);
            (base, c)
        })
        .collect();
    by_base.sort_unstable_by(|a, b| a.0.cmp(b.0));
    // The bases whose coefficients add to exactly zero, in sorted order.
    let cancelled: Vec<&[Id]> = by_base
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| {
            group.len() > 1
                && matches!(
                    group.iter().fold(Num::ZERO, |sum, &(_, c)| sum.add(c)),
                    Num::Rat(0, _)
                )
        })
        .map(|group| group[0].0)
        .collect();
    let cancels = |base: &[Id]| cancelled.binary_search(&base).is_ok();
    if !constants_cancel && cancelled.is_empty() {
        return None;
    }
    Some(
        terms
            .iter()
            .filter(|t| !cancels(split(graph, t).1))
            .filter(|t| !(constants_cancel && constant(t).is_some()))
            .copied()
            .collect(),
    )
}

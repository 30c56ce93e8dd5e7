//! The functions the reference computes by series rather than through dashu: π (Machin's
//! formula), sine and cosine (reduced by the nearest multiple of π/2, then Taylor), erf and
//! erfc (a series of positive terms near 0, the asymptotic series in the tail), GELU and SiLU
//! from them. Each is computed at the working precision it is given and is accurate to a few
//! units in its last place; the caller keeps guard bits and rounds.

use super::*;
use crate::core::expr::Constant;

/// π or e at `bits`.
pub(super) fn constant(c: Constant, bits: usize) -> Big {
    match c {
        Constant::Pi => pi(bits),
        Constant::E => Ctx::new(bits).exp(Big::ONE.repr()).value(),
    }
}

/// π by Machin's formula, 16·atan(1/5) − 4·atan(1/239), in fixed point with 16 bits to spare.
pub(super) fn pi(bits: usize) -> Big {
    let scale = bits + 16;
    let fixed = atan_of_inverse(5, scale) * IBig::from(16u8)
        - atan_of_inverse(239, scale) * IBig::from(4u8);
    round_to(&Big::from_parts(fixed, -(scale as isize)), bits).value()
}

/// atan(1/n)·2^scale, truncated: Σ (−1)^k / ((2k + 1) n^(2k+1)).
fn atan_of_inverse(n: u32, scale: usize) -> IBig {
    let mut power = (IBig::ONE << scale) / IBig::from(n);
    let n2 = IBig::from(n) * IBig::from(n);
    let mut sum = IBig::ZERO;
    let mut k = 0u64;
    while power != IBig::ZERO {
        let term = &power / IBig::from(2 * k + 1);
        if k.is_multiple_of(2) {
            sum += term;
        } else {
            sum -= term;
        }
        power /= &n2;
        k += 1;
    }
    sum
}

/// `(sin x, cos x)` at `bits`. The reduction `x − k·π/2` cancels the bits of x's magnitude and
/// as many more as x is close to a multiple of π/2, so π is computed with those to spare.
/// Below 1/2 (< π/4) there is nothing to reduce: a tiny x (2^−10^6, say) would otherwise
/// count its own smallness as bits lost to cancellation and ask for π to a million bits.
pub(super) fn sin_cos(x: &Big, bits: usize) -> (Big, Big) {
    if top(x) < 0 {
        return sin_cos_series(x, bits + 8);
    }
    let magnitude = top(x) as usize;
    let mut extra = 32;
    loop {
        let w = Ctx::new(bits + magnitude + extra);
        let half_pi = pi(bits + magnitude + extra) >> 1;
        let k = w.div(x.repr(), half_pi.repr()).value().round();
        let r = w
            .sub(x.repr(), w.mul(k.repr(), half_pi.repr()).value().repr())
            .value();
        let lost = -top(&r);
        if lost > 0 && (lost as usize) + 16 > extra && !is_zero(&r) && extra < bits + 64 {
            extra = lost as usize + 32;
            continue;
        }
        let (s, c) = sin_cos_series(&r, bits + 8);
        let quadrant = i64::try_from(k.to_int().value() % IBig::from(4u8))
            .unwrap_or(0)
            .rem_euclid(4);
        return match quadrant {
            0 => (s, c),
            1 => (c, -s),
            2 => (-s, -c),
            _ => (-c, s),
        };
    }
}

/// Taylor series of sin and cos at `|r| ≤ π/4`.
fn sin_cos_series(r: &Big, bits: usize) -> (Big, Big) {
    let w = Ctx::new(bits);
    let r2 = w.sqr(r.repr()).value();
    let (mut s, mut t) = (r.clone(), r.clone());
    let (mut c, mut u) = (Big::ONE, Big::ONE);
    let small = |term: &Big, sum: &Big| is_zero(term) || top(term) < top(sum) - bits as i64 - 4;
    let mut k: u64 = 0;
    while !(small(&t, &s) && small(&u, &c)) {
        let grow_sin = Big::from((2 * k + 2) * (2 * k + 3));
        let grow_cos = Big::from((2 * k + 1) * (2 * k + 2));
        t = -w
            .div(w.mul(t.repr(), r2.repr()).value().repr(), grow_sin.repr())
            .value();
        u = -w
            .div(w.mul(u.repr(), r2.repr()).value().repr(), grow_cos.repr())
            .value();
        s = add(&w, &s, &t).value();
        c = add(&w, &c, &u).value();
        k += 1;
    }
    (s, c)
}

/// 2/√π at `bits`.
fn two_over_root_pi(bits: usize) -> Big {
    let w = Ctx::new(bits);
    let root = w.sqrt(pi(bits).repr()).value();
    w.div(Big::from(2).repr(), root.repr()).value()
}

/// Whether erfc(x) for `x ≥ 0` is in its tail, where the asymptotic series reaches `bits`
/// before it starts to diverge (its smallest term is about e^(−x²)).
fn in_tail(x: &Big, bits: usize) -> bool {
    let xf = approx(x);
    xf * xf > (bits as f64 + 16.0) * LN_2
}

/// erf(x) for `x ≥ 0` away from the tail: 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)), whose terms
/// are all positive, so nothing cancels.
fn erf_series(x: &Big, bits: usize) -> Big {
    let w = Ctx::new(bits + 16);
    let x2 = w.sqr(x.repr()).value();
    let two_x2 = x2.clone() << 1;
    let (mut term, mut sum) = (x.clone(), x.clone());
    let mut n: u64 = 0;
    while !is_zero(&term) && top(&term) >= top(&sum) - bits as i64 - 8 {
        term = w
            .div(
                w.mul(term.repr(), two_x2.repr()).value().repr(),
                Big::from(2 * n + 3).repr(),
            )
            .value();
        sum = add(&w, &sum, &term).value();
        n += 1;
    }
    let decay = w.exp((-x2).repr()).value();
    let scale = w
        .mul(two_over_root_pi(bits + 16).repr(), decay.repr())
        .value();
    w.mul(scale.repr(), sum.repr()).value()
}

/// erfc(x) in the tail, `x > 0`: e^(−x²)/(x√π)·Σ (−1)ⁿ(2n − 1)!!/(2x²)ⁿ, summed until its terms
/// fall below the precision.
fn erfc_tail(x: &Big, bits: usize) -> Big {
    if erfc_beyond_range(x) {
        // below every magnitude held; callers bound it
        return Big::ZERO;
    }
    let w = Ctx::new(bits + 16);
    let x2 = w.sqr(x.repr()).value();
    let two_x2 = x2.clone() << 1;
    let (mut term, mut sum) = (Big::ONE, Big::ONE);
    let mut n: u64 = 1;
    while !is_zero(&term) && top(&term) >= -(bits as i64) - 8 {
        term = -w
            .div(
                w.mul(term.repr(), Big::from(2 * n - 1).repr())
                    .value()
                    .repr(),
                two_x2.repr(),
            )
            .value();
        sum = add(&w, &sum, &term).value();
        n += 1;
    }
    let decay = w.exp((-x2).repr()).value();
    let root_pi = w.sqrt(pi(bits + 16).repr()).value();
    let den = w.mul(x.repr(), root_pi.repr()).value();
    let lead = w.div(decay.repr(), den.repr()).value();
    w.mul(lead.repr(), sum.repr()).value()
}

/// erfc(x) at `bits` for an `x` whose e^(−x²) is within the magnitudes held.
pub(super) fn erfc(x: &Big, bits: usize) -> Big {
    let w = Ctx::new(bits);
    if is_neg(x) {
        return add(&w, &Big::ONE, &erf(&-x.clone(), bits)).value();
    }
    if in_tail(x, bits) {
        return erfc_tail(x, bits);
    }
    // 1 − erf(x) cancels the bits e^(−x²) is below 1
    let xf = approx(x);
    let extra = (xf * xf / LN_2).ceil() as usize + 8;
    let e = erf_series(x, bits + extra);
    Ctx::new(bits + extra)
        .sub(Big::ONE.repr(), e.repr())
        .value()
}

/// erf(x) at `bits`.
pub(super) fn erf(x: &Big, bits: usize) -> Big {
    if is_neg(x) {
        return -erf(&-x.clone(), bits);
    }
    if in_tail(x, bits) {
        let tail = erfc_tail(x, bits);
        return Ctx::new(bits).sub(Big::ONE.repr(), tail.repr()).value();
    }
    erf_series(x, bits)
}

/// The exact GELU, x·Φ(x) = (x/2)·erfc(−x/√2), the form that keeps its value for x ≪ 0.
pub(super) fn gelu(x: &Big, bits: usize) -> Big {
    let w = Ctx::new(bits + 8);
    let root2 = w.sqrt(Big::from(2).repr()).value();
    let y = w.div(x.repr(), root2.repr()).value();
    let c = erfc(&-y, bits + 8);
    w.mul(x.repr(), c.repr()).value() >> 1
}

/// Whether e^(−x²) is past the magnitudes the reference holds, so that erfc(|x|) is known only
/// as below it.
pub(super) fn erfc_beyond_range(x: &Big) -> bool {
    let xf = approx(x);
    xf * xf > EXP_LIMIT as f64
}

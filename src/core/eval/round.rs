//! Products rounded to a precision, half to even, with the same result as
//! [`dashu_float::Context::mul`] but cheaper: the reference of a large network is mostly
//! products (every weight times its input, every error term times an activation), and dashu
//! counts a significand's digits through a general-radix logarithm on each call, where a
//! binary significand's length can be read from its words.

use dashu_base::BitTest;

use super::*;

/// `significand · 2^exponent` rounded to `bits` significant bits, half to even, and whether
/// anything was dropped. The significand is taken without trailing zeros (as a normalised
/// [`Repr`] keeps it), so any bit beyond `bits` is a non-zero remainder.
fn round_parts(significand: IBig, exponent: isize, bits: usize) -> (IBig, isize, bool) {
    let length = significand.bit_len();
    if length <= bits {
        return (significand, exponent, false);
    }
    let shift = length - bits;
    let negative = significand.sign() == Sign::Negative;
    let magnitude = if negative { -significand } else { significand };
    let half = magnitude.bit(shift - 1);
    let beyond_half = magnitude
        .trailing_zeros()
        .is_some_and(|zeros| zeros < shift - 1);
    let mut kept = magnitude >> shift;
    if half && (beyond_half || kept.bit(0)) {
        kept += IBig::ONE;
    }
    let kept = if negative { -kept } else { kept };
    (kept, exponent + shift as isize, true)
}

/// A finite value's representation cut to at most `bits` significant bits (half to even).
fn shrunk(x: &Repr<2>, bits: usize) -> std::borrow::Cow<'_, Repr<2>> {
    if x.significand().bit_len() <= bits {
        return std::borrow::Cow::Borrowed(x);
    }
    let (significand, exponent, _) = round_parts(x.significand().clone(), x.exponent(), bits);
    std::borrow::Cow::Owned(Repr::new(significand, exponent))
}

/// `x` with its significand cut to at most `bits` bits (half to even), as [`mul_rounded`] cuts
/// a long operand.
pub(super) fn cut_to_bits(x: &Big, bits: usize) -> Big {
    Big::from_repr(shrunk(x.repr(), bits).into_owned(), Ctx::new(bits))
}

/// `a · b` rounded to `bits` (half to even), and whether it was rounded: what
/// `Ctx::new(bits).mul(a, b)` gives, operands longer than twice the precision cut to it first
/// as dashu does.
pub(super) fn mul_rounded(a: &Big, b: &Big, bits: usize) -> (Big, bool) {
    let (a, b) = (shrunk(a.repr(), 2 * bits), shrunk(b.repr(), 2 * bits));
    let product = a.significand() * b.significand();
    let (significand, exponent, inexact) = round_parts(product, a.exponent() + b.exponent(), bits);
    let repr = Repr::new(significand, exponent);
    (Big::from_repr(repr, Ctx::new(bits)), inexact)
}

/// A non-zero significand's leading bits, read from its words without copying it.
pub(super) struct TopBits {
    /// The leading 64 to 127 bits (the whole magnitude if it is shorter).
    pub(super) held: u128,
    /// How many bits `held` has.
    pub(super) held_bits: usize,
    /// How many bits lie below them.
    pub(super) below_bits: usize,
    /// Whether any bit below them is set.
    pub(super) sticky: bool,
}

pub(super) fn top_bits(significand: &IBig) -> TopBits {
    let (_, words) = significand.as_sign_words();
    let word_bits = u64::BITS as usize * std::mem::size_of_val(&words[0]) / 8;
    let mut held: u128 = 0;
    let mut held_bits = 0usize;
    let mut below = words.len();
    while below > 0 && held_bits < 64 {
        below -= 1;
        held = (held << word_bits) | u128::from(words[below]);
        held_bits = 128 - held.leading_zeros() as usize;
    }
    TopBits {
        held,
        held_bits,
        below_bits: below * word_bits,
        sticky: words[..below].iter().any(|&w| w != 0),
    }
}

/// The nearest float64 to `x`, half to even: what `x.to_f64()` gives, read from the
/// significand's words where the result is a normal number (anything else goes to dashu).
pub(super) fn nearest_f64(x: &Big) -> f64 {
    let repr = x.repr();
    if repr.is_zero() {
        return 0.0;
    }
    let sign = repr.significand().sign();
    let TopBits {
        held,
        held_bits,
        below_bits,
        sticky,
    } = top_bits(repr.significand());
    let mut shift = below_bits;
    let mut kept = held;
    if held_bits > 53 {
        let dropped = held_bits - 53;
        kept = held >> dropped;
        let remainder = held & ((1u128 << dropped) - 1);
        let half = 1u128 << (dropped - 1);
        if remainder > half || (remainder == half && (sticky || kept & 1 == 1)) {
            kept += 1;
        }
        shift += dropped;
    }
    let exponent = repr.exponent() + shift as isize;
    // `kept` < 2^54 is exact in float64, and so is its product with a power of two whose
    // result is a normal number.
    let top = exponent + (128 - kept.leading_zeros() as isize);
    if (-1020..=1020).contains(&top) && exponent.abs() < 1000 {
        let magnitude = kept as f64 * 2f64.powi(exponent as i32);
        return if sign == Sign::Negative {
            -magnitude
        } else {
            magnitude
        };
    }
    x.to_f64().value()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Odd significands of every length up to a few words, of both signs, with exponents.
    fn samples() -> Vec<Big> {
        let mut out = Vec::new();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for words in 1..=6usize {
            for _ in 0..40 {
                let mut n = IBig::ZERO;
                for _ in 0..words {
                    n = (n << 64) + IBig::from(next());
                }
                let cut = (next() % 64) as usize;
                let n = (n >> cut) | IBig::ONE;
                let n = if next() % 2 == 0 { n } else { -n };
                let exponent = (next() % 400) as isize - 200;
                out.push(Big::from_parts(n, exponent));
            }
        }
        out.push(Big::ONE);
        out.push(-Big::ONE);
        out
    }

    #[test]
    fn products_round_as_dashu_rounds_them() {
        let values = samples();
        for bits in [8, 53, 64, 65, 128, 200, 256, 512] {
            let ctx = Ctx::new(bits);
            for (i, a) in values.iter().enumerate() {
                for b in values.iter().skip(i % 7).step_by(7) {
                    let expected = ctx.mul(a.repr(), b.repr());
                    let (got, inexact) = mul_rounded(a, b, bits);
                    assert_eq!(
                        got.repr(),
                        expected.value_ref().repr(),
                        "{a} · {b} at {bits}"
                    );
                    assert_eq!(
                        inexact,
                        matches!(expected, Approximation::Inexact(..)),
                        "{a} · {b} at {bits}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_nearest_float64_is_dashus() {
        let mut values = samples();
        values.push(Big::from_parts(IBig::ONE, -1074));
        values.push(Big::from_parts(IBig::from(3), -1075));
        values.push(Big::from_parts(IBig::ONE, 1023));
        values.push(Big::from_parts(IBig::from((1u64 << 54) - 1), 970));
        // ties, and a half with a set bit words below it
        values.push(Big::from_parts(IBig::from((1u64 << 53) + 1), -3));
        values.push(Big::from_parts(IBig::from((1u64 << 53) + 3), 5));
        values.push(Big::from_parts(-IBig::from((1u64 << 53) + 3), 5));
        values.push(Big::from_parts(
            (IBig::from((1u64 << 53) + 1) << 130) + IBig::ONE,
            -150,
        ));
        values.push(Big::from_parts(
            (IBig::from((1u64 << 53) + 1) << 130) - IBig::ONE,
            -150,
        ));
        for x in &values {
            assert_eq!(
                nearest_f64(x).to_bits(),
                x.to_f64().value().to_bits(),
                "{x}"
            );
        }
    }

    #[test]
    fn ties_go_to_the_even_neighbour() {
        // 0b1011 · 0b1 = 11 at 3 bits: 11 lies between 10 and 12, a tie broken to 12 (0b110);
        // 0b1001 = 9 at 3 bits: between 8 and 10, to 8 (even).
        let eleven = Big::from(11);
        let nine = Big::from(9);
        assert_eq!(mul_rounded(&eleven, &Big::ONE, 3).0, Big::from(12));
        assert_eq!(mul_rounded(&nine, &Big::ONE, 3).0, Big::from(8));
        assert_eq!(mul_rounded(&-nine, &Big::ONE, 3).0, Big::from(-8));
    }
}

//! Decimal output of precise values: the digits of a reference, rounded half to even.

use super::*;
use dashu_base::BitTest;

// ---------------------------------------------------------------------------------------------
// Decimal output
// ---------------------------------------------------------------------------------------------

pub(super) fn round_half_even_div(num: IBig, den: IBig) -> IBig {
    let q = &num / &den;
    let r = num - &q * &den;
    let twice = r * IBig::from(2u8);
    let odd = (&q & IBig::ONE) == IBig::ONE;
    if twice > den || (twice == den && odd) {
        q + IBig::ONE
    } else {
        q
    }
}

/// `10^n`, from a table of machine integers where it fits in one.
fn ten_to(n: usize) -> IBig {
    match u32::try_from(n).ok().and_then(|n| 10u128.checked_pow(n)) {
        Some(p) => IBig::from(p),
        None => IBig::from(10u8).pow(n),
    }
}

/// `round(num / 2^shift)`, half to even.
fn round_half_even_shift(num: IBig, shift: usize) -> IBig {
    if shift == 0 {
        return num;
    }
    let q = &num >> shift;
    let half = num.bit(shift - 1);
    // Exactly half when nothing below the half bit is set.
    let exactly_half = half && num.trailing_zeros().is_some_and(|z| z == shift - 1);
    let odd = q.bit(0);
    if half && (!exactly_half || odd) {
        q + IBig::ONE
    } else {
        q
    }
}

/// `round(|x| · 10^k)` as an integer.
pub(super) fn scaled_integer(x: &Big, k: i64, digits: usize) -> IBig {
    let (m, e) = x.repr().clone().into_parts();
    let m = if m < IBig::ZERO { -m } else { m };
    const EXACT_LIMIT: u64 = 20_000;
    if (e.unsigned_abs() as u64) <= EXACT_LIMIT && k.unsigned_abs() <= EXACT_LIMIT {
        // A binary fraction scaled up: the quotient is by a power of two, a shift (a value
        // near 1 or below, the usual gradient, printed to 17 digits).
        if e < 0 && k >= 0 {
            return round_half_even_shift(m * ten_to(k as usize), e.unsigned_abs());
        }
        let mut num = m;
        let mut den = IBig::ONE;
        if e >= 0 {
            num <<= e as usize;
        } else {
            den <<= e.unsigned_abs();
        }
        let ten = ten_to(k.unsigned_abs() as usize);
        if k >= 0 {
            num *= ten;
        } else {
            den *= ten;
        }
        round_half_even_div(num, den)
    } else {
        // far from 1: scale at a precision well beyond the digits wanted
        let ctx = Ctx::new(digits * 4 + x.repr().digits() + 128);
        let ten = ctx.powi(Big::from(10).repr(), IBig::from(k)).value();
        let y = ctx.mul(abs_big(x).repr(), ten.repr()).value();
        y.to_int().value()
    }
}

pub(super) fn decimal_string(x: &Big, digits: usize) -> String {
    if is_zero(x) {
        return "0e0".to_string();
    }
    let mut e10 = (ln_abs(x) / LN_10).floor() as i64;
    let lo = ten_to(digits - 1);
    let hi = ten_to(digits);
    let mut n = scaled_integer(x, digits as i64 - 1 - e10, digits);
    for _ in 0..4 {
        if n >= hi {
            e10 += 1;
        } else if n < lo {
            e10 -= 1;
        } else {
            break;
        }
        n = scaled_integer(x, digits as i64 - 1 - e10, digits);
    }
    // The usual 17 digits fit a machine integer, written without the big integer's formatting.
    let s = match u128::try_from(&n) {
        Ok(small) => small.to_string(),
        Err(_) => n.to_string(),
    };
    scientific(if is_neg(x) { "-" } else { "" }, &s, e10)
}

/// `digits` (at least one) written as `d.ddde±x` with the point after the first, trailing
/// zeros dropped: `1.5e-3`, `2e0`.
fn scientific(sign: &str, digits: &str, e10: i64) -> String {
    let (first, rest) = digits.split_at(1);
    let rest = rest.trim_end_matches('0');
    let mut out = String::with_capacity(digits.len() + 8);
    out.push_str(sign);
    out.push_str(first);
    if !rest.is_empty() {
        out.push('.');
        out.push_str(rest);
    }
    out.push('e');
    out.push_str(&e10.to_string());
    out
}

/// A value written by [`decimal_string`] (`-1.33683314163199775e-6`) rounded to `digits`
/// significant digits, half to even, in the same form: the digits of a value known to lie on
/// a tie are rounded where they are written, since any binary value near the tie falls on
/// either side of it.
pub(super) fn round_written(written: &str, digits: usize) -> String {
    let (sign, body) = match written.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", written),
    };
    let Some((mantissa, exponent)) = body.split_once('e') else {
        return written.to_string();
    };
    let Ok(mut e10) = exponent.parse::<i64>() else {
        return written.to_string();
    };
    let mut run: Vec<u8> = mantissa.bytes().filter(|c| c.is_ascii_digit()).collect();
    if run.len() <= digits || digits == 0 {
        return written.to_string();
    }
    let rest = run.split_off(digits);
    let above_half = rest[0] > b'5' || (rest[0] == b'5' && rest[1..].iter().any(|&c| c != b'0'));
    let on_half = rest[0] == b'5' && !above_half;
    let odd = (run[digits - 1] - b'0') % 2 == 1;
    if above_half || (on_half && odd) {
        let mut i = digits;
        loop {
            if i == 0 {
                run.insert(0, b'1');
                run.pop();
                e10 += 1;
                break;
            }
            i -= 1;
            if run[i] == b'9' {
                run[i] = b'0';
            } else {
                run[i] += 1;
                break;
            }
        }
    }
    scientific(sign, std::str::from_utf8(&run).expect("ascii digits"), e10)
}

/// A decimal literal as written (`0.2380`, `-1.5e-3`, `7`) in the form
/// [`Precise::to_decimal_string`] gives its value with `digits` significant digits, when it
/// has no more than that many: such a number is its own rounding, and a values file of a large
/// network holds tens of thousands of them, each otherwise converted back from binary.
/// `None` for anything else (more digits, not a plain decimal, out of range).
pub fn written_decimal(text: &str, digits: usize) -> Option<String> {
    let text = text.trim();
    let (sign, body) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part) {
        return None;
    }
    // The digits as one run (the integer part's, then the fraction's), written from the first
    // non-zero digit, worth 10^e10, to the last.
    let run_of = |i: usize| {
        if i < int_part.len() {
            int_part.as_bytes()[i]
        } else {
            frac_part.as_bytes()[i - int_part.len()]
        }
    };
    let length = int_part.len() + frac_part.len();
    let Some(start) = (0..length).find(|&i| run_of(i) != b'0') else {
        return Some("0e0".to_string());
    };
    let end = (0..length).rev().find(|&i| run_of(i) != b'0')? + 1;
    let e10 = exponent
        .checked_add(i64::try_from(int_part.len()).ok()?)?
        .checked_sub(i64::try_from(start).ok()?)?
        .checked_sub(1)?;
    if e10.unsigned_abs() > 1_000_000 || end - start > digits {
        return None;
    }
    let mut out = String::with_capacity(end - start + 8);
    out.push_str(sign);
    out.push(char::from(run_of(start)));
    if end - start > 1 {
        out.push('.');
        out.extend((start + 1..end).map(|i| char::from(run_of(i))));
    }
    out.push('e');
    out.push_str(&e10.to_string());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The magnitudes at the edge of what the reference holds (2^±(2^28 − 1), about
    /// 10^±80,807,123) are written from a power of ten at a few hundred bits, never as an
    /// 80-million-digit integer (values from Python's decimal module, 60 digits).
    #[test]
    fn the_largest_and_smallest_magnitudes_held_are_written_to_their_digits() {
        let edge = (MAG_LIMIT - 1) as isize;
        let largest = Big::from_parts(IBig::ONE, edge);
        let smallest = Big::from_parts(-IBig::ONE, -edge);
        assert_eq!(decimal_string(&largest, 17), "7.1566341957262394e80807123");
        assert_eq!(
            decimal_string(&smallest, 17),
            "-1.3973048959204519e-80807124"
        );
    }

    /// Dividing by a power of two as a shift rounds as the general division does: halves to
    /// even, just below and just above a half, and long numbers.
    #[test]
    fn a_shift_rounds_as_the_division_by_its_power_of_two() {
        let mut numbers: Vec<IBig> = Vec::new();
        for k in [1usize, 2, 3, 10, 63, 64, 65, 130] {
            let half = IBig::ONE << (k - 1);
            for q in [0u32, 1, 2, 7, 8] {
                let base = IBig::from(q) << k;
                numbers.extend([
                    base.clone() + &half,
                    base.clone() + &half - IBig::ONE,
                    base.clone() + &half + IBig::ONE,
                    base.clone(),
                ]);
            }
            numbers.push(IBig::from(10u8).pow(40) + &half);
        }
        for num in numbers {
            for shift in [0usize, 1, 2, 3, 10, 63, 64, 65, 130] {
                let by_division = round_half_even_div(num.clone(), IBig::ONE << shift);
                assert_eq!(
                    round_half_even_shift(num.clone(), shift),
                    by_division,
                    "{num} / 2^{shift}"
                );
            }
        }
        assert_eq!(ten_to(38), IBig::from(10u8).pow(38));
        assert_eq!(
            round_written("1.33683314163199775e-6", 17),
            "1.3368331416319978e-6"
        );
        assert_eq!(
            round_written("-1.08846864236904625e-6", 17),
            "-1.0884686423690462e-6"
        );
        assert_eq!(
            round_written("1.084686423690462501e-6", 17),
            "1.0846864236904625e-6"
        );
        assert_eq!(round_written("2.0000000000000000499e3", 17), "2e3");
        assert_eq!(round_written("9.9999999999999999501e-1", 17), "1e0");
        assert_eq!(round_written("-9.99999999999999995e10", 17), "-1e11");
        assert_eq!(round_written("1.5e0", 17), "1.5e0");
        assert_eq!(ten_to(39), IBig::from(10u8).pow(39));
        assert_eq!(ten_to(0), IBig::ONE);
    }
}

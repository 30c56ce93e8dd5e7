//! Precise values: a finite binary number, undefined, or out of range, with the arithmetic and
//! printing the reference needs.

use super::*;

// ---------------------------------------------------------------------------------------------
// Precise values
// ---------------------------------------------------------------------------------------------

/// A high-precision value.
#[derive(Clone, Debug, PartialEq)]
pub enum Precise {
    Finite(Big),
    /// Not a real number: log or sqrt of a negative, log 0, division by zero, a negative base
    /// to a non-integer power, or an input that was NaN or infinite.
    Undefined,
    /// A real number beyond what is tracked: a magnitude beyond 2^±2^28 (`exp` of an argument
    /// beyond ±1.85e8, say), or anything computed from such a value. Never a float64 anyway.
    OutOfRange,
}

impl Precise {
    /// The exact value of a float64 (NaN and infinities are [`Precise::Undefined`]).
    pub fn from_f64(x: f64) -> Precise {
        match Big::try_from(x) {
            Ok(b) if x.is_finite() => Precise::Finite(b),
            _ => Precise::Undefined,
        }
    }

    /// A constant of the graph rounded to `bits` (exact for dyadic rationals and integers).
    pub fn from_num(n: Num, bits: usize) -> Precise {
        num_value(n, bits.max(MIN_PRECISION)).0
    }

    /// Parses a decimal literal (`-1.5e-3`, `.25`, `7`) correctly rounded to `bits`.
    pub fn parse_decimal(text: &str, bits: usize) -> Option<Precise> {
        let text = text.trim();
        let (neg, body) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (mantissa, exponent) = match body.find(['e', 'E']) {
            Some(i) => (&body[..i], body[i + 1..].parse::<i64>().ok()?),
            None => (body, 0),
        };
        let (int_part, frac_part) = match mantissa.find('.') {
            Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if int_part.len() + frac_part.len() == 0 || !all_digits(int_part) || !all_digits(frac_part)
        {
            return None;
        }
        let digits = format!("{int_part}{frac_part}");
        let n: IBig = digits.parse().ok()?;
        let scale = exponent.checked_sub(frac_part.len() as i64)?;
        if n == IBig::ZERO {
            return Some(Precise::Finite(Big::ZERO));
        }
        if scale.unsigned_abs() > 1_000_000 {
            return Some(Precise::OutOfRange);
        }
        let n = if neg { -n } else { n };
        let ctx = Ctx::new(bits.max(MIN_PRECISION));
        let ten = IBig::from(10u8).pow(scale.unsigned_abs() as usize);
        let v = if scale >= 0 {
            round_to(&Big::from(n * ten), ctx.precision()).value()
        } else {
            ctx.div(Big::from(n).repr(), Big::from(ten).repr()).value()
        };
        Some(Precise::Finite(v))
    }

    pub fn is_finite(&self) -> bool {
        matches!(self, Precise::Finite(_))
    }

    pub fn is_zero(&self) -> bool {
        matches!(self, Precise::Finite(b) if b.repr().is_zero())
    }

    pub fn as_big(&self) -> Option<&Big> {
        match self {
            Precise::Finite(b) => Some(b),
            _ => None,
        }
    }

    /// The nearest float64 (±inf or ±0 beyond its range; NaN unless finite).
    pub fn to_f64(&self) -> f64 {
        match self {
            Precise::Finite(b) => nearest_f64(b),
            _ => f64::NAN,
        }
    }

    /// Scientific notation with `digits` significant digits (rounded half to even), trailing
    /// zeros dropped, in Rust's `{:e}` style: `2.4109373099548972e-20`, `1e0`, `-5e-1`.
    /// Non-finite values print as `undefined` and `out of range`.
    pub fn to_decimal_string(&self, digits: usize) -> String {
        match self {
            Precise::Finite(b) => decimal_string(b, digits.max(1)),
            Precise::Undefined => "undefined".to_string(),
            Precise::OutOfRange => "out of range".to_string(),
        }
    }

    /// The relative error of a float64 approximation of this value, `|approx - self| / |self|`
    /// (0 when both are zero, infinite when only this is); `None` when either is not finite.
    pub fn rel_error(&self, approx: f64) -> Option<f64> {
        let exact = self.as_big()?;
        let a = Big::try_from(approx).ok().filter(|_| approx.is_finite())?;
        if exact.repr().is_zero() {
            return Some(if approx == 0.0 { 0.0 } else { INF });
        }
        let ctx = Ctx::new(64);
        let diff = ctx.sub(a.repr(), exact.repr()).value();
        let rel = ctx.div(diff.repr(), exact.repr()).value();
        Some(rel.to_f64().value().abs())
    }

    /// |self − other| / max(|self|, |other|) to a few digits, whatever the magnitudes (two
    /// values near 1e−271428 are compared as well as two near 1): a number in [0, 2], 0 when
    /// both are zero; `None` unless both are finite.
    pub fn relative_difference(&self, other: &Precise, bits: usize) -> Option<f64> {
        let (a, b) = (self.as_big()?, other.as_big()?);
        if a.repr().is_zero() && b.repr().is_zero() {
            return Some(0.0);
        }
        let difference = self.sub(other, bits);
        let difference = difference.as_big()?;
        let (a, b) = (super::bounds::abs_big(a), super::bounds::abs_big(b));
        let larger = if a >= b { a } else { b };
        let ctx = Ctx::new(64);
        let relative = ctx.div(difference.repr(), larger.repr()).value();
        Some(nearest_f64(&relative).abs())
    }

    pub fn neg(&self) -> Precise {
        match self {
            Precise::Finite(b) => Precise::Finite(-b.clone()),
            other => other.clone(),
        }
    }

    /// `self + other` rounded to `bits`.
    pub fn add(&self, other: &Precise, bits: usize) -> Precise {
        let p = Prec::new(bits);
        p.sum(&[&Val::exact(self.clone()), &Val::exact(other.clone())])
            .v
    }

    /// `self - other` rounded to `bits`.
    pub fn sub(&self, other: &Precise, bits: usize) -> Precise {
        self.add(&other.neg(), bits)
    }

    /// `self · other` rounded to `bits`.
    pub fn mul(&self, other: &Precise, bits: usize) -> Precise {
        let p = Prec::new(bits);
        p.product(&[&Val::exact(self.clone()), &Val::exact(other.clone())])
            .v
    }

    /// `self / other` rounded to `bits`; division by zero is [`Precise::Undefined`].
    pub fn div(&self, other: &Precise, bits: usize) -> Precise {
        let p = Prec::new(bits);
        let inv = p.pow(
            &Val::exact(other.clone()),
            &Val::exact(Precise::Finite(Big::from(-1))),
        );
        p.product(&[&Val::exact(self.clone()), &inv]).v
    }

    /// `self ^ exponent` rounded to `bits`.
    pub fn pow(&self, exponent: &Precise, bits: usize) -> Precise {
        Prec::new(bits)
            .pow(&Val::exact(self.clone()), &Val::exact(exponent.clone()))
            .v
    }

    /// A built-in function of this value, rounded to `bits`.
    pub fn call(&self, f: Func, bits: usize) -> Precise {
        Prec::new(bits).call(f, &Val::exact(self.clone())).v
    }
}

impl fmt::Display for Precise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal_string(STABLE_DIGITS))
    }
}

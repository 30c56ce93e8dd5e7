//! The one number formatter: how chainrule writes a float64 for a reader, in every format
//! (in the core so that analysis and render share it).
//! [`float`] round-trips (shortest digits, plain in the usual range), [`significant`] rounds to
//! a fixed number of significant digits for tables, [`plain_decimal`] turns a reference's
//! scientific digits into a plain decimal where that reads better, and [`latex`] sets any of
//! them in LaTeX math (`2.41 \times 10^{-20}`, `\infty`).

/// A float64 as a reader wants it: the shortest digits that round-trip, plain in the usual
/// range, scientific outside it.
pub fn float(x: f64) -> String {
    // −0 is 0 to a reader (IEEE keeps the sign only for what a later division would do).
    if x == 0.0 {
        return "0".to_string();
    }
    // Both notations write the same shortest digits, so the plain form is the scientific one
    // with its point moved: one formatting, where a gradient table writes tens of thousands.
    plain_decimal(&format!("{x:e}"))
}

/// The decimal exponents written as plain decimals, by [`float`] and [`plain_decimal`] alike,
/// so that a row with a float64 and its reference uses one notation: 0.0001 to 10¹⁶.
const PLAIN_EXPONENTS: std::ops::Range<i32> = -4..16;

/// A number to `digits` significant digits: fixed-point for everyday magnitudes, scientific
/// otherwise; trailing zeros dropped (`0.15`, `0.35891648`, `2.41093731e-20`).
pub fn significant(v: f64, digits: usize) -> String {
    if !v.is_finite() {
        return if v.is_nan() {
            "NaN".to_string()
        } else if v > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        };
    }
    if v == 0.0 {
        return "0".to_string();
    }
    let digits = digits.max(1);
    let scientific = format!("{:.*e}", digits - 1, v);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`e` format has an exponent");
    let exponent: i32 = exponent.parse().expect("an integer exponent");
    if (-4..digits as i32).contains(&exponent) {
        let decimals = (digits as i32 - 1 - exponent).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}"))
    } else {
        format!("{}e{exponent}", trim_zeros(mantissa))
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// `6.25e1` as `62.5`: scientific notation only for very large or small magnitudes.
pub fn plain_decimal(scientific: &str) -> String {
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        return scientific.to_string();
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return scientific.to_string();
    };
    if !PLAIN_EXPONENTS.contains(&exponent) {
        return scientific.to_string();
    }
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let point = 1 + exponent;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!(
            "{}.{}",
            &digits[..point as usize],
            &digits[point as usize..]
        )
    };
    // A zero has no sign to a reader.
    if body.chars().all(|c| c == '0' || c == '.') {
        return body;
    }
    format!("{sign}{body}")
}

/// A count with thousands separated: `24654` as `24,654`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A measure rounded to a whole number (bits of error): `62`.
pub fn whole(x: f64) -> String {
    format!("{x:.0}")
}

/// A ratio to two significant digits in scientific notation (a relative error): `1.2e-9`.
pub fn rough(x: f64) -> String {
    format!("{x:.1e}")
}

/// A number written by this module, set in LaTeX math: `2.41 \times 10^{-20}`, `\infty`.
pub fn latex(written: &str) -> String {
    match written {
        "NaN" => "\\mathrm{NaN}".to_string(),
        "inf" => "\\infty".to_string(),
        "-inf" => "-\\infty".to_string(),
        _ => match written.split_once('e') {
            Some((m, e)) => format!("{m} \\times 10^{{{}}}", e.trim_start_matches('+')),
            None => written.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_significant_digits() {
        let number = |v| significant(v, 9);
        assert_eq!(number(0.35891647971788465), "0.35891648");
        assert_eq!(number(0.15), "0.15");
        assert_eq!(number(-0.02260254047747507), "-0.0226025405");
        assert_eq!(number(2.410937309954897e-20), "2.41093731e-20");
        assert_eq!(number(123456789012.0), "1.23456789e11");
        assert_eq!(number(30.0), "30");
        assert_eq!(number(0.0), "0");
        assert_eq!(number(f64::NAN), "NaN");
    }

    /// The float64 written as Rust's `{}` writes it in the plain range and as `{:e}` does
    /// outside it.
    fn rust_would_write(x: f64) -> String {
        let exponent: i32 = format!("{x:e}").split_once('e').unwrap().1.parse().unwrap();
        if PLAIN_EXPONENTS.contains(&exponent) {
            format!("{x}")
        } else {
            format!("{x:e}")
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// A float64 is written with Rust's shortest digits that round-trip, in the notation
        /// its magnitude calls for: any bit pattern, and values in the usual range.
        #[test]
        fn a_float64_is_written_with_rusts_shortest_digits(
            bits in proptest::prelude::any::<u64>(),
            usual in -1e4f64..1e4,
        ) {
            let x = f64::from_bits(bits);
            if x.is_finite() && x != 0.0 {
                proptest::prop_assert_eq!(float(x), rust_would_write(x));
            }
            if usual != 0.0 {
                proptest::prop_assert_eq!(float(usual), format!("{usual}"));
            }
        }
    }

    #[test]
    fn a_float64_at_the_edges_of_the_plain_range() {
        assert_eq!(float(-0.0), "0");
        assert_eq!(float(1e16), "1e16");
        assert_eq!(float(9999999999999998.0), "9999999999999998");
        assert_eq!(float(1e-4), "0.0001");
        assert_eq!(float(9.99e-5), "9.99e-5");
    }

    #[test]
    fn references_print_as_plain_decimals_in_the_usual_range() {
        assert_eq!(plain_decimal("6.25e1"), "62.5");
        assert_eq!(plain_decimal("-5e-1"), "-0.5");
        assert_eq!(plain_decimal("1e0"), "1");
        assert_eq!(plain_decimal("0e0"), "0");
        assert_eq!(plain_decimal("1.2345e-3"), "0.0012345");
        assert_eq!(
            plain_decimal("2.4109373099548972e-20"),
            "2.4109373099548972e-20"
        );
        assert_eq!(plain_decimal("1.5e3"), "1500");
        assert_eq!(plain_decimal("-0e0"), "0");
    }

    /// A float64 and its reference side by side are written in one notation: the reference's
    /// 17 digits of 1.0279524575365474e-5 are not written 0.0000102795….
    #[test]
    fn a_value_and_its_reference_share_a_notation() {
        for x in [
            1.0279524575365474e-5,
            1.5e-4,
            9.5e-5,
            0.00012,
            1.2e15,
            1.2e16,
            -3.7e-5,
            -4.2e16,
            123.0,
        ] {
            let reference = plain_decimal(&format!("{x:.16e}"));
            assert_eq!(
                float(x).contains('e'),
                reference.contains('e'),
                "{x}: {} against {reference}",
                float(x)
            );
        }
        assert_eq!(
            plain_decimal("1.0279524575365474e-5"),
            "1.0279524575365474e-5"
        );
    }

    #[test]
    fn zero_has_no_sign() {
        assert_eq!(float(-0.0), "0");
        assert_eq!(float(0.0), "0");
        assert_eq!(significant(-0.0, 6), "0");
    }

    #[test]
    fn latex_numbers() {
        assert_eq!(
            latex(&significant(2.410937309954897e-20, 3)),
            "2.41 \\times 10^{-20}"
        );
        assert_eq!(latex(&float(f64::INFINITY)), "\\infty");
        assert_eq!(latex("0.5"), "0.5");
    }
}

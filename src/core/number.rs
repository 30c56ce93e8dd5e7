//! The one number formatter: how chainrule writes a float64 for a reader, in every format
//! (in the core so that analysis and render share it).
//! [`float`] round-trips (shortest digits, plain in the usual range), [`significant`] rounds to
//! a fixed number of significant digits for tables, [`plain_decimal`] turns a reference's
//! scientific digits into a plain decimal where that reads better, and [`latex`] sets any of
//! them in LaTeX math (`2.41 \times 10^{-20}`, `\infty`).

/// A float64 as a reader wants it: the shortest digits that round-trip, plain in the usual
/// range, scientific outside it.
pub fn float(x: f64) -> String {
    if x == 0.0 || (1e-4..1e16).contains(&x.abs()) {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

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
    if !(-5..17).contains(&exponent) {
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

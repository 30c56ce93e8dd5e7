//! The float-trap suite: classic cases where float64 code loses the answer (saturated σ and
//! tanh, 1 − σ(z), softplus and log(1 + e^x) at ±large x, (e^x − 1)/x and log(1 + x) near 0,
//! √(x + 1) − √x at 1e12, cross-entropy at a saturated output, overflow, underflow to a
//! subnormal and to 0, nearly equal activations) and cases where it does not. Each is checked
//! both ways against a truth computed independently: the reference must agree with it to every
//! printed digit, and there must be a warning exactly where float64's value is more than
//! 2^-41 (12 of 53 bits) off the truth.
//!
//! The truths were computed with mpmath at 1,200 significant digits (`mpmath.mp.dps = 1200`,
//! the formulas written with mpmath's exp, log, tanh and sqrt, σ(x) = 1/(1 + e^−x)) and
//! printed with `mpmath.nstr(v, 17)`. `lost` is what float64 gives when the formula is run as
//! written in Python (same libm), judged against that truth; the test recomputes it from the
//! float64 value chainrule reports.

use chainrule::EvalRequest;
use chainrule::core::eval::{Precise, Resolution};

struct Trap {
    name: &'static str,
    cost: &'static str,
    x: &'static str,
    truth: &'static str,
    lost: bool,
}

const TRAPS: &[Trap] = &[
    Trap {
        name: "sigmoid_saturated_up",
        cost: "sigmoid(x)",
        x: "50",
        truth: "1.0",
        lost: false,
    },
    Trap {
        name: "sigmoid_saturated_down",
        cost: "sigmoid(x)",
        x: "-50",
        truth: "1.9287498479639178e-22",
        lost: false,
    },
    Trap {
        name: "one_minus_sigmoid_50",
        cost: "1 - sigmoid(x)",
        x: "50",
        truth: "1.9287498479639178e-22",
        lost: true,
    },
    Trap {
        name: "one_minus_sigmoid_5",
        cost: "1 - sigmoid(x)",
        x: "5",
        truth: "6.6928509242848556e-3",
        lost: false,
    },
    Trap {
        name: "one_minus_sigmoid_1000",
        cost: "1 - sigmoid(x)",
        x: "1000",
        truth: "5.0759588975494568e-435",
        lost: true,
    },
    Trap {
        name: "sigmoid_1000",
        cost: "sigmoid(x)",
        x: "1000",
        truth: "1.0",
        lost: false,
    },
    Trap {
        name: "sigmoid_minus_1000",
        cost: "sigmoid(x)",
        x: "-1000",
        truth: "5.0759588975494568e-435",
        lost: true,
    },
    Trap {
        name: "sigmoid_prime_written_40",
        cost: "sigmoid(x)*(1 - sigmoid(x))",
        x: "40",
        truth: "4.248354255291589e-18",
        lost: true,
    },
    Trap {
        name: "sigmoid_prime_builtin_40",
        cost: "sigmoid'(x)",
        x: "40",
        truth: "4.248354255291589e-18",
        lost: true,
    },
    Trap {
        name: "sigmoid_prime_builtin_minus_40",
        cost: "sigmoid'(x)",
        x: "-40",
        truth: "4.248354255291589e-18",
        lost: false,
    },
    Trap {
        name: "tanh_20",
        cost: "tanh(x)",
        x: "20",
        truth: "9.9999999999999999e-1",
        lost: false,
    },
    Trap {
        name: "tanh_minus_400",
        cost: "tanh(x)",
        x: "-400",
        truth: "-1.0",
        lost: false,
    },
    Trap {
        name: "tanh_prime_20",
        cost: "tanh'(x)",
        x: "20",
        truth: "1.6993417021166356e-17",
        lost: true,
    },
    Trap {
        name: "one_minus_tanh_squared_minus_20",
        cost: "1 - tanh(x)^2",
        x: "-20",
        truth: "1.6993417021166356e-17",
        lost: true,
    },
    Trap {
        name: "tanh_prime_half",
        cost: "tanh'(x)",
        x: "0.5",
        truth: "7.8644773296592741e-1",
        lost: false,
    },
    Trap {
        name: "softplus_800",
        cost: "softplus(x)",
        x: "800",
        truth: "8.0e+2",
        lost: true,
    },
    Trap {
        name: "softplus_minus_800",
        cost: "softplus(x)",
        x: "-800",
        truth: "3.6678745841776872e-348",
        lost: true,
    },
    Trap {
        name: "softplus_minus_40",
        cost: "softplus(x)",
        x: "-40",
        truth: "4.248354255291589e-18",
        lost: true,
    },
    Trap {
        name: "log_one_plus_exp_minus_40",
        cost: "log(1 + exp(x))",
        x: "-40",
        truth: "4.248354255291589e-18",
        lost: true,
    },
    Trap {
        name: "log_one_plus_exp_40",
        cost: "log(1 + exp(x))",
        x: "40",
        truth: "4.0e+1",
        lost: false,
    },
    Trap {
        name: "expm1_over_x_small",
        cost: "(exp(x) - 1)/x",
        x: "1e-10",
        truth: "1.00000000005",
        lost: true,
    },
    Trap {
        name: "expm1_over_x_half",
        cost: "(exp(x) - 1)/x",
        x: "0.5",
        truth: "1.2974425414002563",
        lost: false,
    },
    Trap {
        name: "log1p_small",
        cost: "log(1 + x)",
        x: "1e-12",
        truth: "9.999999999995e-13",
        lost: true,
    },
    Trap {
        name: "log1p_quarter",
        cost: "log(1 + x)",
        x: "0.25",
        truth: "2.2314355131420976e-1",
        lost: false,
    },
    Trap {
        name: "sqrt_difference_1e12",
        cost: "sqrt(x + 1) - sqrt(x)",
        x: "1e12",
        truth: "4.99999999999875e-7",
        lost: true,
    },
    Trap {
        name: "exp_overflow",
        cost: "exp(x)",
        x: "710",
        truth: "2.233994766161711e+308",
        lost: true,
    },
    Trap {
        name: "exp_subnormal",
        cost: "exp(x)",
        x: "-740",
        truth: "4.1887398800480489e-322",
        lost: true,
    },
    Trap {
        name: "exp_flushed_to_zero",
        cost: "exp(x)",
        x: "-800",
        truth: "3.6678745841776872e-348",
        lost: true,
    },
    Trap {
        name: "square_underflow",
        cost: "x^2",
        x: "1e-200",
        truth: "1.0e-400",
        lost: true,
    },
    Trap {
        name: "exp_ratio_nan",
        cost: "exp(x)/exp(x)",
        x: "1000",
        truth: "1.0",
        lost: true,
    },
    Trap {
        name: "log_exp_overflow",
        cost: "log(exp(x))",
        x: "800",
        truth: "8.0e+2",
        lost: true,
    },
    Trap {
        name: "absorbed_one",
        cost: "(x + 1) - x",
        x: "1e16",
        truth: "1.0",
        lost: true,
    },
    Trap {
        name: "sigmoid_pair_sum",
        cost: "sigmoid(x) + sigmoid(-x)",
        x: "180",
        truth: "1.0",
        lost: false,
    },
    Trap {
        name: "exp_moderate",
        cost: "exp(x)",
        x: "-3.5",
        truth: "3.0197383422318501e-2",
        lost: false,
    },
];

/// `(negative, significant digits without leading zeros, decimal exponent of the first digit)`
fn normalise(text: &str) -> (bool, String, i64) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], body[i + 1..].parse::<i64>().unwrap()),
        None => (body, 0),
    };
    let point = mantissa.find('.').unwrap_or(mantissa.len()) as i64;
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let significant = digits
        .trim_start_matches('0')
        .trim_end_matches('0')
        .to_string();
    if significant.is_empty() {
        return (false, "0".to_string(), 0);
    }
    (negative, significant, exponent + point - 1 - leading as i64)
}

/// The decimal rounded to `n` significant digits (half up: enough for comparing two
/// correctly rounded 17-digit strings at 16 digits).
fn rounded(text: &str, n: usize) -> (bool, String, i64) {
    let (neg, digits, exp) = normalise(text);
    if digits.len() <= n {
        return (neg, digits, exp);
    }
    let mut kept: Vec<u8> = digits.as_bytes()[..n].iter().map(|d| d - b'0').collect();
    let mut exp = exp;
    if digits.as_bytes()[n] >= b'5' {
        let mut i = n;
        loop {
            if i == 0 {
                kept.insert(0, 1);
                kept.pop();
                exp += 1;
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let s: String = kept.iter().map(|d| (d + b'0') as char).collect();
    (neg, s.trim_end_matches('0').to_string(), exp)
}

/// Whether float64's value is more than 2^-41 relative off the truth (or not a number).
fn float64_lost(value: f64, truth: &str) -> bool {
    if !value.is_finite() {
        return true;
    }
    let exact = Precise::parse_decimal(truth, 256).unwrap();
    match exact.rel_error(value) {
        Some(r) => r > 2f64.powi(-41),
        None => true,
    }
}

#[test]
fn float_traps_both_ways() {
    assert!(TRAPS.len() >= 25);
    let mut failures = Vec::new();
    for trap in TRAPS {
        let source = format!("input x\ncost C = {}\n", trap.cost);
        let mut model = chainrule::load(&source).unwrap();
        let at = chainrule::values(&model, &format!("x={}", trap.x)).unwrap();
        let report = chainrule::evaluate(&mut model, &at, &EvalRequest::default()).unwrap();
        let cost = &report.cost;
        // the reference is right to every digit printed (16 of the 17, to be safe from ties)
        assert_eq!(cost.resolution, Resolution::Converged, "{}", trap.name);
        let reference = match &cost.reference {
            Precise::Finite(_) => cost.reference.to_decimal_string(17),
            other => panic!("{}: reference {other:?}", trap.name),
        };
        if rounded(&reference, 16) != rounded(trap.truth, 16) {
            failures.push(format!(
                "{}: reference {reference}, truth {}",
                trap.name, trap.truth
            ));
        }
        // float64 judged independently of chainrule's own measure
        let lost = float64_lost(cost.f64, trap.truth);
        assert_eq!(
            lost, trap.lost,
            "{}: float64 gives {} here, not what Python's float64 gave",
            trap.name, cost.f64
        );
        let warned = !report.warnings.is_empty();
        if warned != lost {
            failures.push(format!(
                "{}: float64 {} vs truth {}: lost {lost}, warnings {:?}",
                trap.name,
                cost.f64,
                trap.truth,
                report
                    .warnings
                    .iter()
                    .map(|w| format!("{} at {}: {:?}", w.kind, w.at, w.facts))
                    .collect::<Vec<_>>()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_normaliser_reads_both_notations() {
    assert_eq!(normalise("62.5"), (false, "625".to_string(), 1));
    assert_eq!(normalise("0.00125"), (false, "125".to_string(), -3));
    assert_eq!(normalise("-8.0e+2"), (true, "8".to_string(), 2));
    assert_eq!(normalise("1e0"), (false, "1".to_string(), 0));
    assert_eq!(
        rounded("9.9999999999999999e-1", 16),
        (false, "1".to_string(), 0)
    );
    assert!(float64_lost(0.0, "5.0759588975494568e-435"));
    assert!(!float64_lost(1.0, "9.9999999999999999e-1"));
}

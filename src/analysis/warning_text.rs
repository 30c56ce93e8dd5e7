//! The words of the numerical warnings: one function per situation, taking the facts
//! [`crate::analysis::warnings`] found (formulas as text, float64 values, references as decimals) and
//! returning a sentence with what happened and what to do about it.

use crate::analysis::numeric::float;
use crate::core::expr::Func;

/// Why a value is not a real number.
pub enum Why {
    LogOf(f64),
    SqrtOf(f64),
    DivisionByZero,
    NotReal,
}

pub fn undefined(node: &str, why: &Why, float64: f64) -> String {
    let why = match why {
        Why::LogOf(x) => format!("log of {}", float(*x)),
        Why::SqrtOf(x) => format!("sqrt of {}", float(*x)),
        Why::DivisionByZero => "division by zero".to_string(),
        Why::NotReal => "a value that is not a real number".to_string(),
    };
    format!(
        "{node} is undefined here ({why}); float64 gives {}",
        float(float64)
    )
}

pub fn unresolved(formula: &str, lost_bits: f64, at_least: bool) -> String {
    let loss = if !at_least {
        format!(
            "; every value in it rounds to the same float64, so float64's error is known: {lost_bits:.0} bits"
        )
    } else if lost_bits >= 1.0 {
        format!(
            "; float64 loses at least {:.0} bit{} here",
            lost_bits,
            if lost_bits.round() == 1.0 { "" } else { "s" }
        )
    } else {
        "; whether float64 is right here is unknown".to_string()
    };
    format!(
        "the reference for {formula} did not settle within the precision allowed, so only an interval is known{loss}"
    )
}

pub fn overflow(node: &str, float64: f64, true_value: &str) -> String {
    format!(
        "{node} overflows in float64 (gives {}; true value {true_value}); float64 ends near 1.8e308: normalise the inputs, or compute in log space",
        float(float64)
    )
}

pub fn underflow(node: &str, float64: f64, true_value: &str) -> String {
    format!(
        "{node} underflows in float64 (gives {}; true value {true_value}, below float64's smallest normal number 2.2e-308): work with logarithms or rescale the inputs",
        float(float64)
    )
}

pub fn subnormal(node: &str, float64: f64, true_value: &str) -> String {
    format!(
        "{node} is subnormal in float64 ({}; true value {true_value}): below 2.2e-308 float64 keeps fewer than 53 bits, and a little further it flushes to 0; work with logarithms or rescale the inputs",
        float(float64)
    )
}

pub fn not_a_number(node: &str, true_value: &str) -> String {
    format!(
        "{node} is NaN in float64 (an ∞/∞, ∞ − ∞ or 0·∞ on the way) but is {true_value}; rescale the inputs or use the stable forms (--stable)"
    )
}

pub fn gradual_loss(formula: &str, bits: f64, float64: f64, true_value: &str) -> String {
    format!(
        "{formula} loses {bits:.0} of float64's 53 bits over several operations, none of which loses many alone: float64 gives {} but the true value is {true_value}",
        float(float64)
    )
}

pub fn node_loss(node: &str, bits: f64, float64: f64, true_value: &str) -> String {
    format!(
        "{node} loses {bits:.0} of float64's 53 bits here: float64 gives {} but the true value is {true_value}",
        float(float64)
    )
}

pub fn cancellation(node: &str, float64: f64, true_value: &str) -> String {
    format!(
        "{node} cancels in float64: its terms agree in most of their digits, leaving {} (true value {true_value}); rearrange the formula to avoid subtracting close values",
        float(float64)
    )
}

pub fn derivative_as_written(
    f: Func,
    node: &str,
    argument: f64,
    float64: f64,
    true_value: &str,
) -> String {
    let (written, stable) = if f == Func::SigmoidPrime {
        ("σ(z)·(1 − σ(z))", "σ(z)·σ(−z)")
    } else {
        ("1 − tanh(z)^2", "4/(e^z + e^−z)^2")
    };
    format!(
        "{node} at z = {} is computed as written, {written}, and the difference cancels because the activation is saturated: float64 gives {} but the true value is {true_value}; use the stable form {stable}",
        float(argument),
        float(float64)
    )
}

pub fn saturated(
    cancels: bool,
    activation: &str,
    s: &crate::analysis::warnings::Saturated,
    node: &str,
    float64: f64,
    true_value: &str,
) -> String {
    let (f, argument, rounded_to) = (s.function, s.argument, s.rounded_to);
    let fname = if f == Func::Sigmoid { "σ" } else { "tanh" };
    let remedy = if f == Func::Sigmoid {
        "the neuron is saturated; use the stable forms 1 − σ(z) = σ(−z), σ'(z) = σ(z)·σ(−z), log σ(z) = −softplus(−z) (--stable evaluates some), or the cross-entropy cost, whose gradient cancels σ'"
    } else {
        "the neuron is saturated; 1 − tanh(z)^2 is better computed as 4/(e^z + e^−z)^2, or normalise the inputs"
    };
    format!(
        "{activation} = {fname}({}) rounds to exactly {} in float64, so {node} {} {} (true value {true_value}); {remedy}",
        float(argument),
        float(rounded_to),
        if cancels { "cancels to" } else { "gives" },
        float(float64)
    )
}

/// The same words wherever a number beyond float64's range is written (`--at`, a values
/// file, a program).
pub fn input_out_of_range(text: &str) -> String {
    format!(
        "`{text}` is beyond float64's range (about 2.2e-308 to 1.8e308 in magnitude): float64 reads it as {}",
        match text.trim().parse::<f64>() {
            Ok(v) => float(v),
            Err(_) => "something else".to_string(),
        }
    )
}

pub fn input_used_exactly(text: &str) -> String {
    format!(
        "{}; the reference uses the value exactly, so expect float64 to differ downstream",
        input_out_of_range(text)
    )
}

pub fn vanishing_gradient(label: &str, float64: f64, cost: f64) -> String {
    format!(
        "{label} = {float64:e} is right in float64 but tiny next to the cost {cost:e}: a step of gradient descent will barely move it (a vanishing gradient; saturated sigmoids are the usual cause)"
    )
}

pub fn grad_check_kink(function: &str, argument: f64) -> String {
    format!(
        "{function}({}) sits at its kink: the finite difference straddles it and is unreliable here",
        float(argument)
    )
}

pub fn grad_check_tie(function: &str, gap: f64) -> String {
    let tie = if gap == 0.0 {
        "tie".to_string()
    } else {
        format!("differ by only {}", float(gap.abs()))
    };
    format!(
        "{function}'s arguments {tie}: the finite difference straddles the switch between them and is unreliable here"
    )
}

pub fn grad_check_saturated(function: &str, argument: f64) -> String {
    format!(
        "{function}({}) is saturated: the cost barely changes, so the finite difference is mostly rounding noise",
        float(argument)
    )
}

pub fn grad_check_not_finite() -> String {
    "the derivative or the finite difference is not a finite number in float64 here, so they cannot be compared (eval's warnings say where float64 fails)".to_string()
}

/// How far a switch's argument is from throwing it: the gap between `max`'s or `min`'s
/// arguments (`between`), or relu''s and sgn's argument.
pub struct Gap {
    pub between: bool,
    pub float64: f64,
    /// The exact value, as a decimal.
    pub exact: String,
}

pub fn tie(node: &str, float64: f64, true_value: &str, gap: &Gap) -> String {
    let what = if gap.between {
        "its arguments differ by"
    } else {
        "its argument is"
    };
    format!(
        "{node} is {} in float64 but {true_value} exactly: {what} only {} ({} in float64), so rounding throws the switch the other way and the gradient goes to the other side; compute the difference directly, or in higher precision",
        float(float64),
        crate::analysis::numeric::plain_decimal(&gap.exact),
        float(gap.float64)
    )
}

//! The programs and the judging that the `check` tests share: textbook networks whose claims
//! reach every kind of diagnosis, and one claim judged through the library.

use chainrule::Checked;
use chainrule::FormulaPrinter;

/// Nielsen's single sigmoid neuron with the cross-entropy cost and an L2 term (chapter 3).
pub const CROSS_ENTROPY: &str = "input x, lambda, n
target y
param w, b
z = w*x + b
a = sigmoid(z)
cost C = -(y*log(a) + (1 - y)*log(1 - a)) + lambda/(2*n) * w^2
";

/// CS231n's staged example f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²): x feeds three names.
pub const CS231N_STAGED: &str = "input x, y
sigy = sigmoid(y)
num = x + sigy
sigx = sigmoid(x)
xpy = x + y
xpysqr = xpy^2
den = sigx + xpysqr
invden = 1/den
cost f = num*invden
";

pub const TANH: &str = "input x
target y
param w
z = w*x
a = tanh(z)
cost C = (y - a)^2
";

/// A relu and a softplus hidden unit feeding a linear output (Goodfellow ch. 6 style).
pub const RELU_SOFTPLUS: &str = "input x
target y
param w1, w2, v1, v2, c
z1 = w1*x
z2 = w2*x
h1 = relu(z1)
h2 = softplus(z2)
out = v1*h1 + v2*h2 + c
cost C = (out - y)^2
";

pub fn judge(source: &str, claim: &str, at: &str) -> Checked {
    let model = chainrule::with_learning_rate(&super::load(source));
    let given = if at.is_empty() {
        Vec::new()
    } else {
        chainrule::values(&model, at).unwrap()
    };
    let mut out = chainrule::check(&model, &[claim.to_string()], &given)
        .unwrap_or_else(|e| panic!("{claim}: {}", e.diagnostic.render("claim", claim, false)));
    out.remove(0)
}

/// The corrected formula of a judgement, in the plain language.
pub fn corrected(c: &Checked) -> String {
    let id = c.corrected.expect("a corrected formula");
    FormulaPrinter::new(&c.formulas.graph, &c.formulas.symbols).plain(id)
}

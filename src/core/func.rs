//! The built-in functions of the language: each one's names as written and read back, and
//! the two-argument functions (`max`, `min`, …) with how they pick between their arguments.
//! The graph's call nodes name them; differentiation, evaluation and printing each give them
//! their meaning.

/// The built-in functions, with the activation derivatives as functions of their own.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Func {
    Sigmoid,
    Tanh,
    Relu,
    Softplus,
    Exp,
    Log,
    Sqrt,
    Abs,
    /// The sign function, −1, 0 or 1 (`sgn(0)` is 0: the derivative abs has at 0, where
    /// relu′(0) = 0 is taken too).
    Sign,
    SigmoidPrime,
    TanhPrime,
    /// The derivative of relu: the unit step (0 for z < 0, 1 for z > 0, taken as 0 at 0).
    ReluPrime,
    /// The error function, 2/√π ∫₀ˣ e^(−t²) dt.
    Erf,
    /// The complementary error function 1 − erf(x), written as its own function because it
    /// stays accurate in the tail where 1 − erf(x) cancels.
    Erfc,
    /// The exact GELU, x·Φ(x) with Φ the standard normal distribution function.
    Gelu,
    /// SiLU (swish), x·σ(x).
    Silu,
    Sin,
    Cos,
}

impl Func {
    pub const ALL: [Func; 18] = [
        Func::Sigmoid,
        Func::Tanh,
        Func::Relu,
        Func::Softplus,
        Func::Exp,
        Func::Log,
        Func::Sqrt,
        Func::Abs,
        Func::Sign,
        Func::SigmoidPrime,
        Func::TanhPrime,
        Func::ReluPrime,
        Func::Erf,
        Func::Erfc,
        Func::Gelu,
        Func::Silu,
        Func::Sin,
        Func::Cos,
    ];

    /// The name in the input language.
    pub fn name(self) -> &'static str {
        match self {
            Func::Sigmoid => "sigmoid",
            Func::Tanh => "tanh",
            Func::Relu => "relu",
            Func::Softplus => "softplus",
            Func::Exp => "exp",
            Func::Log => "log",
            Func::Sqrt => "sqrt",
            Func::Abs => "abs",
            Func::Sign => "sgn",
            Func::SigmoidPrime => "sigmoid'",
            Func::TanhPrime => "tanh'",
            Func::ReluPrime => "relu'",
            Func::Erf => "erf",
            Func::Erfc => "erfc",
            Func::Gelu => "gelu",
            Func::Silu => "silu",
            Func::Sin => "sin",
            Func::Cos => "cos",
        }
    }

    /// Looks a function up by a name the language accepts (`σ`, `ln` and primes included).
    pub fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "sigmoid" | "σ" => Func::Sigmoid,
            "tanh" => Func::Tanh,
            "relu" | "ReLU" => Func::Relu,
            "softplus" => Func::Softplus,
            "exp" => Func::Exp,
            "log" | "ln" => Func::Log,
            "sqrt" | "√" => Func::Sqrt,
            "abs" => Func::Abs,
            "sgn" | "sign" => Func::Sign,
            "sigmoid'" | "σ'" | "sigmoid′" | "σ′" => Func::SigmoidPrime,
            "tanh'" | "tanh′" => Func::TanhPrime,
            "relu'" | "relu′" | "ReLU'" => Func::ReluPrime,
            "erf" => Func::Erf,
            "erfc" => Func::Erfc,
            "gelu" | "GELU" => Func::Gelu,
            "silu" | "SiLU" | "swish" => Func::Silu,
            "sin" => Func::Sin,
            "cos" => Func::Cos,
            _ => return None,
        })
    }

    /// The activation this function is the derivative of, if it is one.
    pub fn primitive(self) -> Option<Func> {
        match self {
            Func::SigmoidPrime => Some(Func::Sigmoid),
            Func::TanhPrime => Some(Func::Tanh),
            Func::ReluPrime => Some(Func::Relu),
            _ => None,
        }
    }

    /// The derivative function of an activation, if the language has one.
    pub fn prime(self) -> Option<Func> {
        match self {
            Func::Sigmoid => Some(Func::SigmoidPrime),
            Func::Tanh => Some(Func::TanhPrime),
            Func::Relu => Some(Func::ReluPrime),
            _ => None,
        }
    }
}

/// The built-in functions of two arguments: the routing gates that pass one argument on, and
/// the activations and cost with a parameter (`leaky_relu(z, α)`, `elu(z, α)`, `huber(r, δ)`)
/// with the derivatives of the activations in their first argument.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Func2 {
    Max,
    Min,
    /// z for z > 0, αz otherwise.
    LeakyRelu,
    /// z for z > 0, α(eᶻ − 1) otherwise.
    Elu,
    /// r²/2 for |r| ≤ δ, δ(|r| − δ/2) otherwise (PyTorch's `HuberLoss` with `delta`).
    Huber,
    /// ∂ leaky_relu(z, α)/∂z: 1 for z > 0, α otherwise (α at 0, as PyTorch takes it).
    LeakyReluPrime,
    /// ∂ elu(z, α)/∂z: 1 for z > 0, αeᶻ otherwise.
    EluPrime,
}

impl Func2 {
    pub const ALL: [Func2; 7] = [
        Func2::Max,
        Func2::Min,
        Func2::LeakyRelu,
        Func2::Elu,
        Func2::Huber,
        Func2::LeakyReluPrime,
        Func2::EluPrime,
    ];

    /// The name in the input language.
    pub fn name(self) -> &'static str {
        match self {
            Func2::Max => "max",
            Func2::Min => "min",
            Func2::LeakyRelu => "leaky_relu",
            Func2::Elu => "elu",
            Func2::Huber => "huber",
            Func2::LeakyReluPrime => "leaky_relu'",
            Func2::EluPrime => "elu'",
        }
    }

    pub fn from_name(name: &str) -> Option<Func2> {
        match name {
            "max" => Some(Func2::Max),
            "min" => Some(Func2::Min),
            "leaky_relu" | "LeakyReLU" => Some(Func2::LeakyRelu),
            "elu" | "ELU" => Some(Func2::Elu),
            "huber" => Some(Func2::Huber),
            "leaky_relu'" | "leaky_relu′" => Some(Func2::LeakyReluPrime),
            "elu'" | "elu′" => Some(Func2::EluPrime),
            _ => None,
        }
    }

    /// Whether the function is the derivative of another (`leaky_relu'`, `elu'`).
    pub fn is_derivative(self) -> bool {
        matches!(self, Func2::LeakyReluPrime | Func2::EluPrime)
    }

    /// Whether the function is a routing gate (`max`, `min`) that passes one argument on.
    pub fn is_gate(self) -> bool {
        matches!(self, Func2::Max | Func2::Min)
    }

    /// The derivative function in the first argument, for an activation that has one.
    pub fn prime(self) -> Option<Func2> {
        match self {
            Func2::LeakyRelu => Some(Func2::LeakyReluPrime),
            Func2::Elu => Some(Func2::EluPrime),
            _ => None,
        }
    }

    /// Whether the first argument is the one passed on. At a tie the second one is: so
    /// `max(z, 0)` has relu's derivative everywhere, relu′(0) = 0 included, and the whole
    /// gradient goes to one side (the convention the derivative rules follow). Only the
    /// gates ([`Func2::is_gate`]) pick; the others are computed from both arguments.
    pub fn picks_first<T: PartialOrd>(self, a: &T, b: &T) -> bool {
        match self {
            Func2::Min => a < b,
            _ => a > b,
        }
    }
}

//! The formula printer of the layered derivation: index expressions ([`E`]) and matrix
//! expressions ([`M`]) in terminal text (`w^(l+1)_ij`, `Σ_i`, `⊙`) or LaTeX.

use super::algebra::{fold, negative};
use super::matrix::M;
use super::{Activation, E, Fun, Ix, Layer, Quantity, neg};
use crate::core::expr::Num;

/// How a formula is printed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Style {
    /// Unicode for a terminal: `w^(l+1)_ij`, `Σ_i`, `σ'(z^L_j)`, `⊙`.
    Text,
    Latex,
}

fn layer_text(l: Layer, style: Style) -> String {
    let inner = match l {
        Layer::Out => return "L".into(),
        Layer::Rel(0) => "l".to_string(),
        Layer::Rel(r) if r > 0 => format!("l+{r}"),
        Layer::Rel(r) => format!("l{}{}", if style == Style::Text { "−" } else { "-" }, -r),
        Layer::Other => {
            if style == Style::Text {
                "l′".into()
            } else {
                "l'".into()
            }
        }
    };
    format!("({inner})")
}

fn quantity_symbol(q: Quantity, style: Style) -> &'static str {
    match (q, style) {
        (Quantity::W, _) => "w",
        (Quantity::B, _) => "b",
        (Quantity::Z, _) => "z",
        (Quantity::A, _) => "a",
        (Quantity::Y, _) => "y",
        (Quantity::Delta, Style::Text) => "δ",
        (Quantity::Delta, Style::Latex) => "\\delta",
        (Quantity::Cost, _) => "C",
        (Quantity::Lambda, Style::Text) => "λ",
        (Quantity::Lambda, Style::Latex) => "\\lambda",
        (Quantity::N, _) => "n",
    }
}

fn atom(q: Quantity, l: Option<Layer>, ix: &[Ix], style: Style) -> String {
    let base = quantity_symbol(q, style);
    let idx: String = ix.iter().collect();
    match style {
        Style::Text => {
            let mut s = base.to_string();
            if let Some(l) = l {
                s.push('^');
                s.push_str(&layer_text(l, style));
            }
            if !idx.is_empty() {
                s.push('_');
                s.push_str(&idx);
            }
            s
        }
        Style::Latex => {
            let mut s = base.to_string();
            if let Some(l) = l {
                s.push_str(&format!("^{{{}}}", layer_text(l, style)));
            }
            if !idx.is_empty() {
                s.push_str(&format!("_{{{idx}}}"));
            }
            s
        }
    }
}

fn fun_name(f: Fun, style: Style) -> String {
    let act = |a: Activation| -> String {
        match (a, style) {
            (Activation::Sigmoid, Style::Text) => "σ".into(),
            (Activation::Sigmoid, Style::Latex) => "\\sigma".into(),
            (Activation::Tanh, Style::Latex) => "\\tanh".into(),
            (a, Style::Latex) => format!("\\mathrm{{{}}}", a.name()),
            (a, Style::Text) => a.name().into(),
        }
    };
    match f {
        Fun::Act(a) => act(a),
        Fun::Prime(a) => format!("{}'", act(a)),
        Fun::Log => {
            if style == Style::Text {
                "ln".into()
            } else {
                "\\ln".into()
            }
        }
        Fun::Exp => {
            if style == Style::Text {
                "exp".into()
            } else {
                "\\exp".into()
            }
        }
        Fun::Huber | Fun::HuberPrime => {
            let prime = if f == Fun::Huber { "" } else { "'" };
            if style == Style::Text {
                format!("huber{prime}")
            } else {
                format!("\\mathrm{{huber}}{prime}")
            }
        }
    }
}

fn number(c: Num, style: Style) -> String {
    match (c, style) {
        (Num::Rat(p, 1), _) => p.to_string(),
        (Num::Rat(p, q), Style::Text) => format!("{p}/{q}"),
        (Num::Rat(p, q), Style::Latex) if p < 0 => format!("-\\frac{{{}}}{{{q}}}", -p),
        (Num::Rat(p, q), Style::Latex) => format!("\\frac{{{p}}}{{{q}}}"),
        // Only where exact arithmetic would overflow i64, which no derivation comes near.
        (Num::Float(_), _) => c.to_string(),
    }
}

/// Precedence levels, loosest first.
const SUM: u8 = 0;
const PRODUCT: u8 = 1;
const ATOM: u8 = 3;

fn level(e: &E) -> u8 {
    match e {
        E::Add(xs) if xs.len() > 1 => SUM,
        E::Mul(_) | E::Sum(..) | E::LayerSum(_) => PRODUCT,
        E::Num(c) if c.is_negative() || c.as_integer().is_none() => PRODUCT,
        _ => ATOM,
    }
}

/// Prints an index expression.
pub fn show(e: &E, style: Style) -> String {
    let minus = if style == Style::Text { "−" } else { "-" };
    let wrap = |x: &E, min: u8| {
        let s = show(x, style);
        if level(x) < min {
            if style == Style::Latex {
                format!("\\left({s}\\right)")
            } else {
                format!("({s})")
            }
        } else {
            s
        }
    };
    match e {
        E::Num(c) => number(*c, style),
        E::At(q, l, ix) => atom(*q, *l, ix, style),
        E::Kron(a, b) => match style {
            Style::Text => format!("δ_{a}{b}"),
            Style::Latex => format!("\\delta_{{{a}{b}}}"),
        },
        E::Add(xs) => {
            let mut out = String::new();
            for (n, x) in xs.iter().enumerate() {
                if n > 0 && negative(x) {
                    // − Σ_i f_i rather than + Σ_i −f_i.
                    let positive = match x {
                        E::Sum(i, l, body) => {
                            E::Sum(*i, *l, Box::new(fold(&neg((**body).clone()))))
                        }
                        other => fold(&neg(other.clone())),
                    };
                    out.push_str(&format!(" {minus} {}", wrap(&positive, PRODUCT)));
                } else if n > 0 {
                    out.push_str(&format!(" + {}", wrap(x, PRODUCT)));
                } else {
                    out.push_str(&show(x, style));
                }
            }
            out
        }
        E::Mul(xs) => {
            let (mut nums, mut dens) = (Vec::new(), Vec::new());
            let mut sign = "";
            for (n, x) in xs.iter().enumerate() {
                match x {
                    E::Num(c) if n == 0 && *c == Num::MINUS_ONE => sign = minus,
                    E::Num(c) if n == 0 && c.is_negative() => {
                        sign = minus;
                        nums.push(number(c.neg(), style));
                    }
                    E::Pow(b, k) if *k < 0 => dens.push(if *k == -1 {
                        (**b).clone()
                    } else {
                        E::Pow(b.clone(), -k)
                    }),
                    x => nums.push(wrap(x, PRODUCT + 1)),
                }
            }
            // A sum over neurons at the end of a product needs no parentheses: Σ reaches to
            // the right (−Σ_j y_j ln a_j), unless a denominator follows.
            if dens.is_empty()
                && let Some(last @ E::Sum(..)) = xs.last()
                && let Some(printed) = nums.last_mut()
            {
                *printed = show(last, style);
            }
            let sep = if style == Style::Text { "·" } else { " " };
            let joined = |parts: &[String]| {
                let mut out = String::new();
                for (i, p) in parts.iter().enumerate() {
                    if i > 0 {
                        let prev_num = parts[i - 1].chars().all(|c| c.is_ascii_digit() || c == '/');
                        let juxtapose = style == Style::Text
                            && (prev_num || p.starts_with('(') || parts[i - 1].ends_with(')'));
                        if !juxtapose {
                            out.push_str(sep);
                        }
                    }
                    out.push_str(p);
                }
                out
            };
            let top = if nums.is_empty() {
                "1".to_string()
            } else {
                joined(&nums)
            };
            if dens.is_empty() {
                return format!("{sign}{top}");
            }
            let bottom: Vec<String> = dens.iter().map(|d| wrap(d, PRODUCT + 1)).collect();
            match style {
                // A fraction bar groups its denominator: no parentheses around one factor.
                Style::Latex if dens.len() == 1 => {
                    format!("{sign}\\frac{{{top}}}{{{}}}", show(&dens[0], style))
                }
                Style::Latex => format!("{sign}\\frac{{{top}}}{{{}}}", bottom.join(" ")),
                Style::Text => {
                    let b = if bottom.len() > 1 {
                        format!("({})", joined(&bottom))
                    } else {
                        bottom.join("")
                    };
                    format!("{sign}{top}/{b}")
                }
            }
        }
        E::Pow(b, n) => {
            let mut base = wrap(b, ATOM);
            // (w^{(l)}_{jk})^{2}: a decorated name takes no second superscript in LaTeX.
            if style == Style::Latex
                && (base.contains('^') || base.contains('_'))
                && level(b) == ATOM
            {
                base = format!("\\left({base}\\right)");
            }
            match style {
                Style::Text if *n == 2 => format!("{base}²"),
                Style::Text => format!("{base}^{n}"),
                Style::Latex => format!("{base}^{{{n}}}"),
            }
        }
        E::Sum(i, _, body) => {
            let inner = wrap(body, PRODUCT);
            match style {
                Style::Text => format!("Σ_{i} {inner}"),
                Style::Latex => format!("\\sum_{{{i}}} {inner}"),
            }
        }
        E::LayerSum(body) => {
            let inner = wrap(body, PRODUCT);
            match style {
                Style::Text => format!("Σ_l′ {inner}"),
                Style::Latex => format!("\\sum_{{l'}} {inner}"),
            }
        }
        E::F(f, arg) => match (f, style) {
            (Fun::Exp, Style::Latex) => format!("e^{{{}}}", show(arg, style)),
            _ => format!("{}({})", fun_name(*f, style), show(arg, style)),
        },
        E::D(of, wrt) => {
            let of_atom = matches!(**of, E::At(..));
            match style {
                Style::Text if of_atom => format!("∂{}/∂{}", show(of, style), show(wrt, style)),
                Style::Text => format!("∂/∂{} ({})", show(wrt, style), show(of, style)),
                Style::Latex if of_atom => format!(
                    "\\frac{{\\partial {}}}{{\\partial {}}}",
                    show(of, style),
                    show(wrt, style)
                ),
                Style::Latex => format!(
                    "\\frac{{\\partial}}{{\\partial {}}}\\left({}\\right)",
                    show(wrt, style),
                    show(of, style)
                ),
            }
        }
    }
}

fn m_level(m: &M) -> u8 {
    match m {
        M::Add(xs) if xs.len() > 1 => SUM,
        M::Hadamard(_) | M::Scale(_) | M::Apply(..) | M::Outer(..) | M::Inner(..) => PRODUCT,
        M::Num(c) if c.is_negative() || c.as_integer().is_none() => PRODUCT,
        _ => ATOM,
    }
}

fn m_negative(m: &M) -> bool {
    match m {
        M::Num(c) => c.is_negative(),
        M::Scale(xs) => matches!(xs.first(), Some(M::Num(c)) if c.is_negative()),
        _ => false,
    }
}

fn m_neg(m: &M) -> M {
    match m {
        M::Num(c) => M::Num(c.neg()),
        M::Scale(xs) => match xs.first() {
            Some(M::Num(c)) if *c == Num::MINUS_ONE && xs.len() == 2 => xs[1].clone(),
            Some(M::Num(c)) if *c == Num::MINUS_ONE => M::Scale(xs[1..].to_vec()),
            Some(M::Num(c)) => {
                let mut v = xs.clone();
                v[0] = M::Num(c.neg());
                M::Scale(v)
            }
            _ => M::Scale(vec![M::Num(Num::MINUS_ONE), m.clone()]),
        },
        other => M::Scale(vec![M::Num(Num::MINUS_ONE), other.clone()]),
    }
}

/// Prints a matrix-form expression.
pub fn show_m(m: &M, style: Style) -> String {
    let minus = if style == Style::Text { "−" } else { "-" };
    let wrap = |x: &M, min: u8| {
        let s = show_m(x, style);
        if m_level(x) < min {
            if style == Style::Latex {
                format!("\\left({s}\\right)")
            } else {
                format!("({s})")
            }
        } else {
            s
        }
    };
    let transpose = |s: String| match style {
        Style::Text => format!("{s}ᵀ"),
        Style::Latex => format!("{s}^{{\\mathsf{{T}}}}"),
    };
    let vector = |q: Quantity, l: Option<Layer>| match (q, style) {
        (Quantity::Delta, _) | (Quantity::Lambda, _) => atom(q, l, &[], style),
        (_, Style::Text) => atom(q, l, &[], style),
        (_, Style::Latex) => {
            let s = atom(q, l, &[], style);
            format!("\\mathbf{{{}}}{}", &s[..1], &s[1..])
        }
    };
    match m {
        M::Num(c) => number(*c, style),
        M::Scalar(q) => quantity_symbol(*q, style).to_string(),
        M::Vector(q, l) => vector(*q, *l),
        M::Matrix(l) => match style {
            Style::Text => format!("W^{}", layer_text(*l, style)),
            Style::Latex => format!("W^{{{}}}", layer_text(*l, style)),
        },
        M::Ones(_) => match style {
            Style::Text => "𝟙".into(),
            Style::Latex => "\\mathbf{1}".into(),
        },
        M::T(inner) => {
            let s = show_m(inner, style);
            let s = if matches!(**inner, M::Matrix(_) | M::Vector(..)) && s.contains('^') {
                if style == Style::Latex {
                    format!("\\left({s}\\right)")
                } else {
                    format!("({s})")
                }
            } else {
                wrap(inner, ATOM)
            };
            transpose(s)
        }
        M::Apply(a, v) => format!("{} {}", show_m(a, style), wrap(v, ATOM)),
        M::Outer(u, v) => {
            let v = match &**v {
                M::T(inner) => (**inner).clone(),
                other => other.clone(),
            };
            format!("{} {}", wrap(u, ATOM), show_m(&M::T(Box::new(v)), style))
        }
        M::Inner(u, v) => format!("{} {}", show_m(&M::T(u.clone()), style), wrap(v, ATOM)),
        M::Hadamard(xs) => {
            let op = if style == Style::Text {
                " ⊙ "
            } else {
                " \\odot "
            };
            // A scaled factor reads unparenthesised (2(a − y) ⊙ σ'(z)); a matrix product
            // keeps its parentheses.
            xs.iter()
                .map(|x| {
                    if matches!(x, M::Scale(_)) {
                        show_m(x, style)
                    } else {
                        wrap(x, ATOM)
                    }
                })
                .collect::<Vec<_>>()
                .join(op)
        }
        M::Scale(xs) => {
            let mut sign = "";
            let mut nums = Vec::new();
            let mut dens = Vec::new();
            for (n, x) in xs.iter().enumerate() {
                match x {
                    M::Num(c) if n == 0 && *c == Num::MINUS_ONE => sign = minus,
                    M::Num(c) if n == 0 && c.is_negative() => {
                        sign = minus;
                        nums.push(number(c.neg(), style));
                    }
                    M::Pow(b, -1) => dens.push(wrap(b, ATOM)),
                    x => nums.push(wrap(x, PRODUCT + 1)),
                }
            }
            let sep = if style == Style::Text { "·" } else { " " };
            let mut top = String::new();
            for (i, part) in nums.iter().enumerate() {
                let after_number = i > 0 && nums[i - 1].chars().all(|c| c.is_ascii_digit());
                if i > 0 && !(style == Style::Text && (after_number || part.starts_with('('))) {
                    top.push_str(sep);
                }
                top.push_str(part);
            }
            if dens.is_empty() {
                format!("{sign}{top}")
            } else if style == Style::Latex {
                format!(
                    "{sign}\\frac{{{}}}{{{}}}",
                    nums.first().cloned().unwrap_or("1".into()),
                    dens.join(" ")
                ) + &nums
                    .iter()
                    .skip(1)
                    .map(|s| format!(" {s}"))
                    .collect::<String>()
            } else {
                let first = nums.first().cloned().unwrap_or("1".into());
                let rest: String = nums.iter().skip(1).map(|s| format!(" {s}")).collect();
                format!("{sign}({first}/{}){rest}", dens.join(""))
            }
        }
        M::Add(xs) => {
            let mut out = String::new();
            for (n, x) in xs.iter().enumerate() {
                if n > 0 && m_negative(x) {
                    out.push_str(&format!(" {minus} {}", wrap(&m_neg(x), PRODUCT)));
                } else if n > 0 {
                    out.push_str(&format!(" + {}", wrap(x, PRODUCT)));
                } else {
                    out.push_str(&show_m(x, style));
                }
            }
            out
        }
        M::Pow(b, n) => {
            // A base that carries a superscript already (`a^L`) is parenthesised: `(a^L)^-1`.
            let base = wrap(b, ATOM);
            let base = if base.contains('^') && !base.ends_with(')') {
                match style {
                    Style::Text => format!("({base})"),
                    Style::Latex => format!("\\left({base}\\right)"),
                }
            } else {
                base
            };
            match style {
                Style::Text => format!("{base}^{n}"),
                Style::Latex => format!("{base}^{{{n}}}"),
            }
        }
        M::F(f, arg) => match (f, style) {
            (Fun::Exp, Style::Latex) => format!("e^{{{}}}", show_m(arg, style)),
            _ => format!("{}({})", fun_name(*f, style), show_m(arg, style)),
        },
        M::Grad(q, l) => {
            let of = if *q == Quantity::W {
                show_m(&M::Matrix(*l), style)
            } else {
                vector(*q, Some(*l))
            };
            match style {
                Style::Text => format!("∂C/∂{of}"),
                Style::Latex => format!("\\frac{{\\partial C}}{{\\partial {of}}}"),
            }
        }
    }
}

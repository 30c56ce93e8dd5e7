//! How a name is written: the fixed rule for names without a display form (trailing digits as
//! a subscript, `_` separating further subscripts, Greek names as their letters) in LaTeX and
//! in terminal text, and the table of Greek letters that the parsers (`σ`, `\eta`) and the
//! printers share.

use crate::core::model::Symbol;

/// The LaTeX form of a name: its display form if it has one, else [`default_name_latex`].
/// A named error term `dC/dh2` without one is `\frac{\partial C}{\partial h_{2}}`.
pub fn name_latex(symbol: &Symbol) -> String {
    match (&symbol.display, derivative_name(&symbol.name)) {
        (Some(display), _) => display.clone(),
        (None, Some((of, wrt))) => format!(
            "\\frac{{\\partial {}}}{{\\partial {}}}",
            default_name_latex(of),
            default_name_latex(wrt)
        ),
        (None, None) => default_name_latex(&symbol.name),
    }
}

/// The terminal form of a name: [`default_name_text`] (display forms are LaTeX, so unused).
/// A named error term `dC/dh2` reads `∂C/∂h2`.
pub fn name_text(symbol: &Symbol) -> String {
    match derivative_name(&symbol.name) {
        Some((of, wrt)) => format!("∂{}/∂{}", default_name_text(of), default_name_text(wrt)),
        None => default_name_text(&symbol.name),
    }
}

/// `("C", "h2")` for the name of a named error term `dC/dh2` (no name of a program has a `/`).
fn derivative_name(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix('d')?.split_once("/d")
}

/// The fixed LaTeX rule for a name without a display form.
///
/// The name splits at `_`. The first part is a base followed by optional trailing digits; every
/// later non-empty part is a further subscript; all subscripts are joined with `,`:
/// `w3` -> `w_{3}`, `w_jk` -> `w_{jk}`, `w2_13` -> `w_{2,13}`, `w_j_k` -> `w_{j,k}`.
/// A Greek base, spelt out (`eta`, `sigma`, `Delta`, `varepsilon`) or as a letter (`η`), becomes
/// its macro (`\eta`, `eta2` -> `\eta_{2}`); so does a Greek subscript part (`w_alpha` ->
/// `w_{\alpha}`). Any other base of one character stays as it is; a longer one is set as a word,
/// `\mathit{loss}` (`Eo1` -> `\mathit{Eo}_{1}`).
pub fn default_name_latex(name: &str) -> String {
    // An entry of a vector or matrix (`W2[1,2]`, from the scalarisation of a vector program):
    // the array's name with the indices as a subscript, `(W_{2})_{1,2}`.
    if let Some((base, rest)) = name.split_once('[')
        && let Some(indices) = rest.strip_suffix(']')
        && !base.is_empty()
    {
        let base = default_name_latex(base);
        return if base.contains('_') {
            format!("({base})_{{{indices}}}")
        } else {
            format!("{base}_{{{indices}}}")
        };
    }
    let (base, subscripts) = split_name(name);
    let base = if base.is_empty() {
        "{}".to_string()
    } else if let Some(g) = greek(base) {
        g.latex.to_string()
    } else if base.chars().count() == 1 {
        base.to_string()
    } else {
        format!("\\mathit{{{base}}}")
    };
    if subscripts.is_empty() {
        return base;
    }
    let subs: Vec<String> = subscripts
        .iter()
        .map(|p| greek(p).map_or_else(|| p.to_string(), |g| g.latex.to_string()))
        .collect();
    format!("{base}_{{{}}}", subs.join(","))
}

/// The fixed terminal rule for a name: the name as written, with a spelt-out Greek base or
/// subscript part replaced by its letter (`eta` -> `η`, `delta3` -> `δ3`, `w_alpha` -> `w_α`).
pub fn default_name_text(name: &str) -> String {
    // A letter is never longer than the word it replaces: the name's length is enough.
    let mut out = String::with_capacity(name.len());
    let mut parts = name.split('_');
    let first = parts.next().unwrap_or("");
    let base = first.trim_end_matches(|c: char| c.is_ascii_digit());
    push_greek_text(&mut out, base);
    out.push_str(&first[base.len()..]);
    for part in parts {
        out.push('_');
        push_greek_text(&mut out, part);
    }
    out
}

/// The base and the subscripts of a name (see [`default_name_latex`]).
fn split_name(name: &str) -> (&str, Vec<&str>) {
    let mut parts = name.split('_');
    let first = parts.next().unwrap_or("");
    let base = first.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &first[base.len()..];
    let mut subs = Vec::new();
    if !digits.is_empty() {
        subs.push(digits);
    }
    subs.extend(parts.filter(|p| !p.is_empty()));
    (base, subs)
}

/// `word` as its Greek letter if it spells one out, else as it is.
fn push_greek_text(out: &mut String, word: &str) {
    match spelt_greek(word) {
        Some(g) => out.push(g.letter),
        None => out.push_str(word),
    }
}

/// The Greek letter `word` spells out (`eta`, `Delta`, `varepsilon`). Most parts of a name
/// (`w`, `2`, `13`) are too short or not words at all, and are told apart without a search.
fn spelt_greek(word: &str) -> Option<&'static Greek> {
    if !(2..=10).contains(&word.len()) || !word.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    GREEK.iter().find(|g| g.ascii == word)
}

struct Greek {
    ascii: &'static str,
    letter: char,
    latex: &'static str,
}

const fn gk(ascii: &'static str, letter: char, latex: &'static str) -> Greek {
    Greek {
        ascii,
        letter,
        latex,
    }
}

const GREEK: &[Greek] = &[
    gk("alpha", 'α', "\\alpha"),
    gk("beta", 'β', "\\beta"),
    gk("gamma", 'γ', "\\gamma"),
    gk("delta", 'δ', "\\delta"),
    gk("epsilon", 'ε', "\\epsilon"),
    gk("varepsilon", 'ϵ', "\\varepsilon"),
    gk("zeta", 'ζ', "\\zeta"),
    gk("eta", 'η', "\\eta"),
    gk("theta", 'θ', "\\theta"),
    gk("vartheta", 'ϑ', "\\vartheta"),
    gk("iota", 'ι', "\\iota"),
    gk("kappa", 'κ', "\\kappa"),
    gk("lambda", 'λ', "\\lambda"),
    gk("mu", 'μ', "\\mu"),
    gk("nu", 'ν', "\\nu"),
    gk("xi", 'ξ', "\\xi"),
    gk("omicron", 'ο', "o"),
    gk("pi", 'π', "\\pi"),
    gk("varpi", 'ϖ', "\\varpi"),
    gk("rho", 'ρ', "\\rho"),
    gk("varrho", 'ϱ', "\\varrho"),
    gk("sigma", 'σ', "\\sigma"),
    gk("varsigma", 'ς', "\\varsigma"),
    gk("tau", 'τ', "\\tau"),
    gk("upsilon", 'υ', "\\upsilon"),
    gk("phi", 'φ', "\\phi"),
    gk("varphi", 'ϕ', "\\varphi"),
    gk("chi", 'χ', "\\chi"),
    gk("psi", 'ψ', "\\psi"),
    gk("omega", 'ω', "\\omega"),
    gk("Gamma", 'Γ', "\\Gamma"),
    gk("Delta", 'Δ', "\\Delta"),
    gk("Theta", 'Θ', "\\Theta"),
    gk("Lambda", 'Λ', "\\Lambda"),
    gk("Xi", 'Ξ', "\\Xi"),
    gk("Pi", 'Π', "\\Pi"),
    gk("Sigma", 'Σ', "\\Sigma"),
    gk("Upsilon", 'Υ', "\\Upsilon"),
    gk("Phi", 'Φ', "\\Phi"),
    gk("Psi", 'Ψ', "\\Psi"),
    gk("Omega", 'Ω', "\\Omega"),
];

/// The spelt-out name (`eta`) of a Greek letter given spelt out or as the letter (`η`);
/// the LaTeX reader resolves `\eta` and `η` through it too.
pub fn greek_ascii(word: &str) -> Option<&'static str> {
    greek(word).map(|g| g.ascii)
}

/// Whether `command` (`\sigma`) is the LaTeX macro of a Greek letter.
pub fn is_greek_macro(command: &str) -> bool {
    GREEK.iter().any(|g| g.latex == command)
}

/// The LaTeX macro of a Greek letter written as the letter (`η` -> `\eta`).
pub fn greek_letter_latex(letter: char) -> Option<&'static str> {
    GREEK.iter().find(|g| g.letter == letter).map(|g| g.latex)
}

/// A Greek letter spelt out or written as the letter itself.
fn greek(word: &str) -> Option<&'static Greek> {
    let mut chars = word.chars();
    let single = match (chars.next(), chars.next()) {
        (Some(c), None) => Some(c),
        _ => None,
    };
    GREEK
        .iter()
        .find(|g| g.ascii == word || Some(g.letter) == single)
}

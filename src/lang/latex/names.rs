//! Names as textbooks write them, resolved to the model's: display forms first, then the
//! default rule both ways (`a_{2}`, `a_2`, `a^{(2)}` are `a2`), then the plain name; δ of a
//! z-name; free Greek letters kept for the caller to judge.

use super::*;

// ---------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------

/// A script's text compared loosely: no spaces, no braces, no font commands; Greek letters
/// spelt out (`{\alpha}` and `α` are both `alpha`).
pub(super) fn normalize(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' | '}' | ' ' | '\t' | '~' => {}
            '\\' => {
                let word: String =
                    std::iter::from_fn(|| chars.next_if(|c| c.is_ascii_alphabetic())).collect();
                if word.is_empty() {
                    // `\,` and the like: spacing.
                    chars.next_if(|c| matches!(c, ',' | ';' | ':' | '!' | ' ' | '>'));
                } else if matches!(
                    word.as_str(),
                    "mathrm"
                        | "mathit"
                        | "mathbf"
                        | "mathsf"
                        | "text"
                        | "textrm"
                        | "textit"
                        | "operatorname"
                        | "boldsymbol"
                        | "left"
                        | "right"
                ) {
                } else if greek_ascii(&word).is_some() {
                    out.push_str(&word);
                } else {
                    out.push('\\');
                    out.push_str(&word);
                }
            }
            c => match greek_ascii(&c.to_string()) {
                Some(ascii) => out.push_str(ascii),
                None => out.push(c),
            },
        }
    }
    out
}

/// A name's structure for comparison: base (Greek spelt out), subscripts joined by `,`
/// (trailing digits of the base first), and the superscript, all [`normalize`]d.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Key {
    pub(super) base: String,
    pub(super) sub: String,
    pub(super) sup: String,
}

impl Key {
    pub(super) fn loose(&self) -> Key {
        Key {
            base: self.base.clone(),
            sub: self.sub.replace(',', ""),
            sup: self.sup.clone(),
        }
    }
}

pub(super) fn join_subs(parts: &[&str]) -> String {
    parts
        .iter()
        .filter(|p| !p.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(",")
}

/// A name as written: its base as written and canonical, and its scripts.
#[derive(Clone, Debug)]
pub(super) struct Written {
    /// `out`, `η`, `eta` (from `\eta`), `E`.
    pub(super) raw: String,
    /// Letters of the base, Greek spelt out: `out`, `eta`.
    pub(super) base: String,
    /// Trailing digits of a word (`a3` -> `3`).
    pub(super) digits: String,
    pub(super) sub: String,
    pub(super) sup: String,
    pub(super) sup_arg: Option<Arg>,
    pub(super) primes: usize,
    /// What was written, for messages.
    pub(super) shown: String,
}

impl Written {
    /// A factor that can be a name: a word, a Greek command or a Greek letter with scripts.
    /// `None` for anything else, or a name with two subscripts or two superscripts.
    pub(super) fn from_factor(factor: &Factor, text: &str) -> Option<Written> {
        let raw = match &factor.atom {
            Atom::Word(w) => w.clone(),
            Atom::Command(c) if greek_ascii(c).is_some() => c.clone(),
            _ => return None,
        };
        let mut w = Written::from_word(&raw);
        let span = factor.span();
        w.shown = text
            .get(span.start..span.end)
            .unwrap_or(raw.as_str())
            .to_string();
        for script in &factor.scripts {
            match script {
                Script::Sub(arg) if w.sub.is_empty() => w.sub = normalize(&arg.text),
                Script::Sup(arg) if w.sup_arg.is_none() => {
                    w.sup = normalize(&arg.text);
                    w.sup_arg = Some(arg.clone());
                }
                Script::Prime(_) => w.primes += 1,
                _ => return None,
            }
        }
        // `w^{(3)\prime}`, `w^{(3)\prime\prime}`: primes at the end of a layer superscript.
        let mut sup = w.sup.as_str();
        let mut primes = 0;
        while let Some(rest) = sup
            .strip_suffix("\\prime")
            .or_else(|| sup.strip_suffix('\''))
        {
            sup = rest.trim_end();
            primes += 1;
        }
        if primes > 0 && (sup.ends_with(')') || sup.ends_with(']')) {
            w.sup = sup.to_string();
            w.primes += primes;
        }
        Some(w)
    }

    pub(super) fn from_word(raw: &str) -> Written {
        let letters = raw.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = &raw[letters.len()..];
        let base = greek_ascii(letters).unwrap_or(letters).to_string();
        Written {
            raw: raw.to_string(),
            base,
            digits: digits.to_string(),
            sub: String::new(),
            sup: String::new(),
            sup_arg: None,
            primes: 0,
            shown: raw.to_string(),
        }
    }

    /// The layer of `a^{(2)}`, `a^{[2]}`.
    pub(super) fn layer(&self) -> Option<&str> {
        let s = &self.sup;
        s.strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
            .or_else(|| s.strip_prefix('[').and_then(|s| s.strip_suffix(']')))
            .filter(|l| !l.is_empty())
    }

    pub(super) fn key(&self, layer: Option<&str>, with_sup: bool) -> Key {
        Key {
            base: self.base.clone(),
            sub: join_subs(&[&self.digits, layer.unwrap_or(""), &self.sub]),
            sup: if with_sup {
                self.sup.clone()
            } else {
                String::new()
            },
        }
    }

    /// The plain names this could be: the parts joined by `_` or run together
    /// (`E_{total}` -> `E_total`, `Etotal`; `out_{o1}` -> `out_o1`, `outo1`).
    pub(super) fn plain_names(&self, layer: Option<&str>) -> Vec<String> {
        let mut out = Vec::new();
        let letters = self.raw.trim_end_matches(|c: char| c.is_ascii_digit());
        let bases = [letters.to_string(), self.base.clone()];
        for base in &bases {
            let first = format!("{base}{}", self.digits);
            let subs: Vec<&str> = layer
                .into_iter()
                .chain(self.sub.split(',').filter(|s| !s.is_empty()))
                .collect();
            let mut underscored = first.clone();
            let mut together = first.clone();
            for s in &subs {
                underscored.push('_');
                underscored.push_str(s);
                together.push_str(s);
            }
            out.push(underscored);
            out.push(together);
        }
        out.dedup();
        out
    }
}

/// The model's names with their keys, built once per model.
pub struct Names<'m> {
    pub(super) model: &'m Model,
    pub(super) display: Vec<Option<Key>>,
    pub(super) default: Vec<Option<Key>>,
}

/// The outcome of looking a key up.
pub(super) enum Lookup<T = Sym> {
    Found(T),
    Ambiguous(Vec<Sym>),
    Missing,
}

impl<'m> Names<'m> {
    pub fn new(model: &'m Model) -> Names<'m> {
        let key_of = |latex: &str| -> Option<Key> {
            let factor = parse_name_only(latex).ok()?;
            let w = Written::from_factor(&factor, latex)?;
            Some(w.key(None, true))
        };
        let display = model
            .symbols
            .iter()
            .map(|s| s.display.as_deref().and_then(key_of))
            .collect();
        let default = model
            .symbols
            .iter()
            .map(|s| key_of(&default_name_latex(&s.name)))
            .collect();
        Names {
            model,
            display,
            default,
        }
    }

    /// The letters that name pre-activations (the arguments of σ, tanh, relu, softplus):
    /// `z` first, then whatever the program uses (`net` in Mazur's example).
    pub(super) fn pre_activation_bases(&self) -> Vec<String> {
        let mut bases = vec!["z".to_string()];
        let graph = &self.model.graph;
        for def in self.model.definitions.iter().flatten() {
            let crate::core::expr::Node::Call(f, arg) = graph.node(*def) else {
                continue;
            };
            if f.prime().is_none() && *f != Func::Softplus {
                continue;
            }
            if let crate::core::expr::Node::Var(z) = graph.node(*arg) {
                let symbol = &self.model.symbols[z.index()];
                let shown = symbol
                    .display
                    .clone()
                    .unwrap_or_else(|| default_name_latex(&symbol.name));
                let base: String = shown
                    .trim_start_matches('{')
                    .chars()
                    .take_while(|c| c.is_alphabetic() || *c == '\\')
                    .collect();
                if !base.is_empty() && !bases.contains(&base) {
                    bases.push(base);
                }
            }
        }
        bases
    }

    pub fn model(&self) -> &'m Model {
        self.model
    }

    /// Looks a name up tier by tier: display forms, the default rule, the plain name, and
    /// the default rule with commas between subscripts ignored (`w_{11}` for `w_{1,1}`).
    pub(super) fn lookup(&self, key: &Key, plain: &[String], display_only: bool) -> Lookup {
        let pick = |hits: Vec<Sym>| -> Option<Lookup> {
            let mut hits = hits;
            hits.dedup();
            match hits.len() {
                0 => None,
                1 => Some(Lookup::Found(hits[0])),
                _ => Some(Lookup::Ambiguous(hits)),
            }
        };
        let syms = || self.model.syms();
        let by = |keys: &[Option<Key>], loose: bool| -> Vec<Sym> {
            syms()
                .filter(|s| {
                    keys[s.index()].as_ref().is_some_and(|k| {
                        if loose {
                            k.loose() == key.loose()
                        } else {
                            k == key
                        }
                    })
                })
                .collect()
        };
        if let Some(found) = pick(by(&self.display, false)) {
            return found;
        }
        if display_only {
            return Lookup::Missing;
        }
        if let Some(found) = pick(by(&self.default, false)) {
            return found;
        }
        let plain_hits: Vec<Sym> = syms()
            .filter(|&s| plain.iter().any(|p| *p == self.model.name(s)))
            .collect();
        if let Some(found) = pick(plain_hits) {
            return found;
        }
        let mut loose = by(&self.display, true);
        loose.extend(by(&self.default, true));
        loose.sort_by_key(|s| s.index());
        pick(loose).unwrap_or(Lookup::Missing)
    }

    /// Resolves a written name. The second value is the superscript when it is a power
    /// (`a_2^2`), for the caller to apply.
    pub(super) fn resolve_parts(&self, w: &Written, span: Span) -> Result<(Resolved, Option<Arg>)> {
        match self.resolve_symbol(w) {
            Lookup::Found(s) => return Ok((Resolved::Symbol(s.0), s.1)),
            Lookup::Ambiguous(syms) => return Err(self.ambiguous(w, span, &syms)),
            Lookup::Missing => {}
        }
        // `δ3`, `\delta^{(3)}`: ∂C/∂z3; with Mazur's names, `\delta_{o1}` is ∂E/∂net_{o1}.
        if w.base == "delta" {
            let mut found_base = None;
            for base in self.pre_activation_bases() {
                let candidate = Written {
                    raw: format!("{base}{}", w.digits),
                    base: base.clone(),
                    ..w.clone()
                };
                if !matches!(self.resolve_symbol(&candidate), Lookup::Missing) {
                    found_base = Some(base);
                    break;
                }
            }
            let base = found_base.unwrap_or_else(|| "z".to_string());
            let z = Written {
                raw: format!("{base}{}", w.digits),
                base,
                ..w.clone()
            };
            match self.resolve_symbol(&z) {
                Lookup::Found((s, power)) => return Ok((Resolved::Delta(s), power)),
                Lookup::Ambiguous(syms) => return Err(self.ambiguous(&z, span, &syms)),
                // A bare `\delta` is a Greek letter like any other (below).
                Lookup::Missing if w.digits.is_empty() && w.sub.is_empty() && w.sup.is_empty() => {}
                Lookup::Missing => {
                    return Err(Diagnostic::at(
                        span,
                        format!(
                            "`{}` means ∂C/∂z with the same decorations, but no z-name is written so",
                            w.shown
                        ),
                        "no matching z-name",
                    )
                    .with_help(self.candidates_help("z")));
                }
            }
        }
        // A Greek letter the model does not declare: a free symbol (`\eta`).
        if w.sub.is_empty()
            && w.digits.is_empty()
            && w.layer().is_none()
            && let Some(ascii) = greek_ascii(&w.base)
        {
            let power = if w.sup.is_empty() {
                None
            } else {
                w.sup_arg.clone()
            };
            return Ok((Resolved::Free(ascii.to_string()), power));
        }
        Err(self.unknown(w, span))
    }

    /// The symbol a written name stands for, and the superscript left over as a power.
    pub(super) fn resolve_symbol(&self, w: &Written) -> Lookup<(Sym, Option<Arg>)> {
        let found = |l: Lookup, power: Option<Arg>| -> Option<Lookup<(Sym, Option<Arg>)>> {
            match l {
                Lookup::Found(s) => Some(Lookup::Found((s, power))),
                Lookup::Ambiguous(v) => Some(Lookup::Ambiguous(v)),
                Lookup::Missing => None,
            }
        };
        if !w.sup.is_empty() {
            // A display form with this superscript (`show a2 as "a^{2}"` makes it a name).
            if let Some(l) = found(self.lookup(&w.key(None, true), &[], true), None) {
                return l;
            }
            // A layer: `a^{(2)}`; Nielsen's `a^L`, `w^l` when a name is written so.
            let layer = w.layer().map(str::to_string).or_else(|| {
                (w.sup.chars().count() == 1 && w.sup.chars().all(|c| c.is_ascii_alphabetic()))
                    .then(|| w.sup.clone())
            });
            if let Some(layer) = layer {
                let l = self.lookup(
                    &w.key(Some(&layer), false),
                    &w.plain_names(Some(&layer)),
                    false,
                );
                if let Some(l) = found(l, None) {
                    return l;
                }
                if w.layer().is_some() {
                    return Lookup::Missing;
                }
            }
        }
        let power = (!w.sup.is_empty()).then(|| w.sup_arg.clone()).flatten();
        let l = self.lookup(&w.key(None, false), &w.plain_names(None), false);
        found(l, power).unwrap_or(Lookup::Missing)
    }

    pub(super) fn ambiguous(&self, w: &Written, span: Span, syms: &[Sym]) -> Diagnostic {
        let list = self.describe(syms);
        Diagnostic::at(
            span,
            format!("ambiguous name `{}`: it could be {list}", w.shown),
            "ambiguous",
        )
        .with_help(
            "write the name with its subscript or layer, or give it a display form with `show`",
        )
    }

    pub(super) fn unknown(&self, w: &Written, span: Span) -> Diagnostic {
        // A bare letter where the model has several names of that letter (`a` for `a2`,
        // `a3`): say which.
        if w.digits.is_empty() && w.sub.is_empty() && w.sup.is_empty() {
            let same = self.same_base(&w.base);
            if same.len() > 1 {
                return self.ambiguous(w, span, &same);
            }
        }
        Diagnostic::at(
            span,
            format!("unknown name `{}`", w.shown),
            "no name of the model is written so",
        )
        .with_help(self.candidates_help(&w.base))
    }

    /// The names that share a base with what was written (`a` -> `a2`, `a3`), or the nearest.
    pub(super) fn candidates_help(&self, base: &str) -> String {
        let same = self.same_base(base);
        if !same.is_empty() {
            return format!("the candidates are {}", self.describe(&same));
        }
        let mut near: Vec<(usize, Sym)> = self
            .model
            .syms()
            .map(|s| (strsim::damerau_levenshtein(base, self.model.name(s)), s))
            .filter(|(d, _)| *d <= 2)
            .collect();
        near.sort_by_key(|&(d, s)| (d, s.index()));
        if let Some(&(_, s)) = near.first() {
            return format!("did you mean {}?", self.describe(&[s]));
        }
        let all: Vec<Sym> = self.model.syms().take(12).collect();
        format!("the model's names are {}", self.describe(&all))
    }

    /// The names written with this base letter or word (at most 12).
    pub(super) fn same_base(&self, base: &str) -> Vec<Sym> {
        self.model
            .syms()
            .filter(|&s| {
                self.default[s.index()]
                    .as_ref()
                    .is_some_and(|k| k.base == base)
                    || self.display[s.index()]
                        .as_ref()
                        .is_some_and(|k| k.base == base)
            })
            .take(12)
            .collect()
    }

    /// `` `a2` (a^{(2)}), `a3` (a_{3}) ``.
    pub(super) fn describe(&self, syms: &[Sym]) -> String {
        let words: Vec<String> = syms
            .iter()
            .map(|&s| {
                let symbol = self.model.symbol(s);
                let latex = symbol
                    .display
                    .clone()
                    .unwrap_or_else(|| default_name_latex(&symbol.name));
                format!("`{}` ({latex})", symbol.name)
            })
            .collect();
        match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.join(""),
        }
    }

    /// [`resolve_name`] with this table.
    pub fn resolve_written(&self, written: &str) -> Result<Resolved> {
        let whole = Span::new(0, written.len());
        if let Some(s) = self.model.lookup(written) {
            return Ok(Resolved::Symbol(s));
        }
        let not_a_name = || {
            Diagnostic::at(
                whole,
                format!("`{written}` is not a name"),
                "expected a name such as `w3`, `a_2` or `δ3`",
            )
        };
        // A plain name (`a_2`, `delta3`, `δ3`) read through its default LaTeX form; else
        // the text as LaTeX (`a^{(2)}`).
        let plain = written
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_')
            .then(|| default_name_latex(written));
        let latex = plain.as_deref().unwrap_or(written);
        let factor = parse_name_only(latex).map_err(|_| not_a_name())?;
        let mut w = Written::from_factor(&factor, latex).ok_or_else(not_a_name)?;
        if plain.is_some() {
            // Keep the name as written for the plain tier and for messages.
            w.raw = written.split('_').next().unwrap_or(written).to_string();
            w.shown = written.to_string();
        }
        if w.primes > 0 {
            return Err(not_a_name());
        }
        match self.resolve_parts(&w, whole) {
            Ok((resolved, None)) => Ok(resolved),
            Ok((_, Some(_))) => Err(not_a_name()),
            Err(mut d) => {
                d.span = Some(whole);
                Err(d)
            }
        }
    }
}

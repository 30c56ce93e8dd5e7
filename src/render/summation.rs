//! Long sums written as `Σ`: a run of consecutive terms that are the same text except for one
//! index counting up by one (`w_{2,1} x_{1} + w_{2,2} x_{2} + … + w_{2,784} x_{784}`) is
//! written `\sum_{k=1}^{784} w_{2,k} x_{k}` (text: `Σ_{k=1..784} w2_k·x_k`).
//!
//! The summary is exact by construction: the terms are compared as printed, every digit run
//! that is not the index is the same in all of them, and the index appears in each term as
//! the decimal of its position, so writing term `k` back out of the summand gives the printed
//! term. Runs shorter than [`MIN_RUN`] stay written out: a textbook writes three terms.

/// The fewest terms a `Σ` stands for.
pub const MIN_RUN: usize = 8;

/// Terms `start .. start + len` of a sum, all with the same sign, written as one `Σ`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Run {
    pub start: usize,
    pub len: usize,
    /// Every term of the run is subtracted.
    pub negative: bool,
    /// The index's first value.
    pub from: u64,
    /// The index letter.
    pub index: char,
    /// The summand, with the index letter where the counting digits were.
    pub summand: String,
}

/// A printed term split at its digit runs: the text between them, and the runs' values.
struct Shape<'a> {
    texts: Vec<&'a str>,
    digits: Vec<&'a str>,
    values: Vec<Option<u64>>,
}

fn shape(s: &str) -> Shape<'_> {
    let mut texts = Vec::new();
    let mut digit_runs = Vec::new();
    let mut values = Vec::new();
    let bytes = s.as_bytes();
    let (mut i, mut text_start) = (0, 0);
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            texts.push(&s[text_start..start]);
            let digits = &s[start..i];
            digit_runs.push(digits);
            // A leading zero is not an index (`0.05`): compared as text via a None value.
            values.push(
                digits
                    .parse::<u64>()
                    .ok()
                    .filter(|v| v.to_string() == digits),
            );
            text_start = i;
        } else {
            i += 1;
        }
    }
    texts.push(&s[text_start..]);
    Shape {
        texts,
        digits: digit_runs,
        values,
    }
}

/// The runs of `terms` (each its sign and its text after the sign) that a `Σ` may stand for.
pub fn runs<S: AsRef<str>>(terms: &[(bool, S)], latex: bool) -> Vec<Run> {
    let shapes: Vec<Shape> = terms.iter().map(|(_, s)| shape(s.as_ref())).collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < terms.len() {
        let Some(varying) = index_positions(&shapes[i], &shapes[i + 1]) else {
            i += 1;
            continue;
        };
        let mut end = i + 2;
        while end < terms.len()
            && terms[end].0 == terms[i].0
            && follows(&shapes[i], &shapes[end], &varying, (end - i) as u64)
        {
            end += 1;
        }
        if terms[i + 1].0 != terms[i].0 || end - i < MIN_RUN {
            i += 1;
            continue;
        }
        let first = &shapes[i];
        let from = first.values[varying[0]].expect("an index is a number");
        if let Some(index) = index_letter(terms[i].1.as_ref(), latex) {
            out.push(Run {
                start: i,
                len: end - i,
                negative: terms[i].0,
                from,
                index,
                summand: summand(first, &varying, index, latex),
            });
        }
        i = end;
    }
    out
}

/// The digit runs that count up by one from `a` to `b` (all with the same value in `a`), if
/// everything else is the same.
fn index_positions(a: &Shape, b: &Shape) -> Option<Vec<usize>> {
    if a.texts != b.texts {
        return None;
    }
    let mut varying = Vec::new();
    for (n, (x, y)) in a.values.iter().zip(&b.values).enumerate() {
        match (x, y) {
            (Some(x), Some(y)) if *y == x + 1 => varying.push(n),
            (x, y) if x == y => {}
            _ => return None,
        }
    }
    let value = a.values[*varying.first()?];
    varying
        .iter()
        .all(|&n| a.values[n] == value)
        .then_some(varying)
}

/// Whether `term` is `first` with its index advanced by `step` and nothing else changed.
fn follows(first: &Shape, term: &Shape, varying: &[usize], step: u64) -> bool {
    first.texts == term.texts
        && first
            .values
            .iter()
            .zip(&term.values)
            .enumerate()
            .all(|(n, (x, y))| {
                if varying.contains(&n) {
                    matches!((x, y), (Some(x), Some(y)) if *y == x + step)
                } else {
                    x == y
                }
            })
}

/// A letter for the index that the summand does not already use (outside LaTeX commands).
fn index_letter(term: &str, latex: bool) -> Option<char> {
    let mut letters = String::with_capacity(term.len());
    let mut chars = term.chars().peekable();
    while let Some(c) = chars.next() {
        if latex && c == '\\' {
            while chars.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                chars.next();
            }
        } else {
            letters.push(c);
        }
    }
    ['k', 'j', 'i', 'm', 'n', 'p', 'q']
        .into_iter()
        .find(|c| !letters.contains(*c))
}

fn summand(first: &Shape, varying: &[usize], index: char, latex: bool) -> String {
    let mut out = String::new();
    for (n, text) in first.texts.iter().enumerate() {
        out.push_str(text);
        let Some(digits) = first.digits.get(n) else {
            break;
        };
        if varying.contains(&n) {
            // `x1` becomes `x_k`, not the name `xk`; `w_{2,1}` becomes `w_{2,k}`.
            if text.ends_with(|c: char| c.is_alphabetic()) {
                out.push('_');
                if latex {
                    out.push_str(&format!("{{{index}}}"));
                    continue;
                }
            }
            out.push(index);
        } else {
            out.push_str(digits);
        }
    }
    out
}

/// The run as written: `\sum_{k=1}^{784} w_{2,k} x_{k}` or `Σ_{k=1..784} w2_k·x_k`.
pub fn write(run: &Run, latex: bool) -> String {
    let to = run.from + run.len as u64 - 1;
    let (index, from, summand) = (run.index, run.from, &run.summand);
    if latex {
        format!("\\sum_{{{index}={from}}}^{{{to}}} {summand}")
    } else {
        format!("Σ_{{{index}={from}..{to}}} {summand}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(f: impl Fn(u64) -> String, n: u64) -> Vec<(bool, String)> {
        (1..=n).map(|k| (false, f(k))).collect()
    }

    #[test]
    fn a_counting_index_becomes_a_sum() {
        let t = terms(|k| format!("w_{{2,{k}}} x_{{{k}}}"), 784);
        let r = runs(&t, true);
        assert_eq!(r.len(), 1);
        assert_eq!(
            write(&r[0], true),
            "\\sum_{k=1}^{784} w_{2,k} x_{k}",
            "{r:?}"
        );
        let t = terms(|k| format!("δ3_{k}·w3_{k}_1"), 10);
        let r = runs(&t, false);
        assert_eq!(write(&r[0], false), "Σ_{k=1..10} δ3_k·w3_k_1");
        let t = terms(|k| format!("x{k}"), 9);
        assert_eq!(write(&runs(&t, false)[0], false), "Σ_{k=1..9} x_k");
    }

    #[test]
    fn the_letter_avoids_names_in_the_summand() {
        let t = terms(|k| format!("k_{{{k}}} \\cdot x_{{{k}}}"), 8);
        assert_eq!(
            write(&runs(&t, true)[0], true),
            "\\sum_{j=1}^{8} k_{j} \\cdot x_{j}"
        );
    }

    #[test]
    fn only_exact_runs_are_summarised() {
        // Too short, a gap, a second index moving differently, a sign change, a leading zero.
        let short = terms(|k| format!("x_{{{k}}}"), 7);
        assert!(runs(&short, true).is_empty());
        let gap: Vec<(bool, String)> = (1..=10)
            .filter(|&k| k != 5)
            .map(|k| (false, format!("x_{{{k}}}")))
            .collect();
        assert!(runs(&gap, true).iter().all(|r| r.len < 9 && r.start != 0));
        let two = terms(|k| format!("w_{{{k}}} x_{{{}}}", 2 * k), 10);
        assert!(runs(&two, true).is_empty());
        let mut signs = terms(|k| format!("x_{{{k}}}"), 10);
        signs[4].0 = true;
        assert!(runs(&signs, true).is_empty());
        let zeros = terms(|k| format!("0{k}"), 9);
        assert!(runs(&zeros, false).is_empty());
        // A run inside a longer sum keeps the other terms.
        let mut mixed = terms(|k| format!("x_{{{k}}}"), 9);
        mixed.push((false, "b".to_string()));
        let r = runs(&mixed, true);
        assert_eq!((r[0].start, r[0].len), (0, 9));
    }

    /// Writing each term back from the summand gives the printed term.
    #[test]
    fn the_summand_gives_every_term_back() {
        let t = terms(
            |k| {
                format!(
                    "(-2(y_{{{k}}} - a^{{(3)}}_{{{k}}})) a^{{(3)}}_{{{k}}} w^{{(3)}}_{{{k},30}}"
                )
            },
            10,
        );
        let r = &runs(&t, true)[0];
        for (k, (_, term)) in t.iter().enumerate() {
            let back = r.summand.replace('k', &(k as u64 + r.from).to_string());
            assert_eq!(&back, term);
        }
    }
}

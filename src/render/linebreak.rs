//! Long formulas broken across lines, at the places a textbook breaks them: before a top-level
//! `+` or `−` of a sum, between two factors of a product (the continuation starting with `·`),
//! and, inside a term too long for a line, between its own factors. A formula that fits is
//! left on one line exactly as printed. The layouts of a derivation's equations in each
//! format (text lines, LaTeX alignment rows in blocks, Markdown displays) are built here too.
//!
//! Widths: text lines are measured in terminal columns ([`TEXT_WIDTH`] a line, the width of a
//! terminal or a code block most readers have); LaTeX in points of a 10 pt display, estimated
//! from the source ([`latex_width`]) against [`LATEX_WIDTH`], a little under the 500 pt text
//! block of the standalone document (A4 or letter, 2 cm margins), which also suits a Markdown
//! page rendered by KaTeX or GitHub.

use unicode_width::UnicodeWidthStr;

use crate::render::format::Format;

/// Columns of a text line.
pub const TEXT_WIDTH: usize = 100;
/// Points of a LaTeX (or Markdown) display line.
pub const LATEX_WIDTH: f64 = 440.0;

/// What separates the parts at a break.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BreakKind {
    /// Before ` + ` or ` − `: the continuation starts with the sign.
    Sum,
    /// Between two factors: the separator is dropped and the continuation starts with `·`.
    Product,
}

/// A place where a printed formula may be broken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Break {
    /// Byte offset of the separator.
    pub at: usize,
    /// Bytes of separator a product break drops (`·`, ` `, ` \cdot `, nothing).
    pub skip: u8,
    /// 0: an operator of the formula itself; 1: one of its terms or factors (inside
    /// parentheses or not); and so on.
    pub depth: u8,
    pub kind: BreakKind,
}

/// A printed formula and its breaks.
#[derive(Clone, Debug, Default)]
pub struct Printed {
    pub s: String,
    pub breaks: Vec<Break>,
}

/// One line of a broken formula: its text, and the break it starts at (none for the first).
struct Segment<'a> {
    text: &'a str,
    after: Option<Break>,
}

/// Greedy line filling: each line takes the furthest break of the shallowest level (the
/// formula's own operators first, then those inside a term, …) that fits, else the first break (the line is
/// then too long, but no longer than it must be). `room(after)` is the width a line starting
/// at that break has; the last line leaves `reserve` free.
fn segments<'a>(
    p: &'a Printed,
    measure: &dyn Fn(&str) -> f64,
    room: &dyn Fn(Option<Break>) -> f64,
    reserve: f64,
) -> Vec<Segment<'a>> {
    let mut breaks = p.breaks.clone();
    breaks.sort_by_key(|b| b.at);
    breaks.dedup_by_key(|b| b.at);
    // Widths of the pieces between consecutive breaks; a line's width is their sum.
    let mut bounds: Vec<usize> = Vec::with_capacity(breaks.len() + 2);
    bounds.push(0);
    bounds.extend(
        breaks
            .iter()
            .map(|b| b.at)
            .filter(|&at| at > 0 && at < p.s.len()),
    );
    bounds.push(p.s.len());
    let widths: Vec<f64> = bounds
        .windows(2)
        .map(|w| measure(&p.s[w[0]..w[1]]))
        .collect();
    let break_at = |piece: usize| breaks.iter().find(|b| b.at == bounds[piece]).copied();
    let mut out = Vec::new();
    let mut first_piece = 0;
    let mut after: Option<Break> = None;
    loop {
        let room_here = room(after);
        let start = match after {
            Some(b) if b.kind == BreakKind::Product => b.at + b.skip as usize,
            Some(b) => b.at + 1,
            None => 0,
        };
        let total: f64 = widths[first_piece..].iter().sum();
        if total + reserve <= room_here || first_piece + 1 >= widths.len() {
            out.push(Segment {
                text: &p.s[start..],
                after,
            });
            return out;
        }
        // The line may end before piece `end` (a break), for end in first_piece+1..pieces.
        let mut used = 0.0;
        // The furthest break that fits at each depth, and the first break at all.
        let mut best: [Option<usize>; 8] = [None; 8];
        let mut first = None;
        for end in first_piece + 1..widths.len() {
            used += widths[end - 1];
            let Some(b) = break_at(end) else { continue };
            first.get_or_insert(end);
            if used <= room_here {
                best[(b.depth as usize).min(7)] = Some(end);
            } else {
                break;
            }
        }
        let Some(end) = best.iter().flatten().next().copied().or(first) else {
            out.push(Segment {
                text: &p.s[start..],
                after,
            });
            return out;
        };
        let b = break_at(end).expect("chosen at a break");
        out.push(Segment {
            text: p.s[start..b.at].trim_end(),
            after,
        });
        first_piece = end;
        after = Some(b);
    }
}

fn text_width(s: &str) -> f64 {
    UnicodeWidthStr::width(s) as f64
}

/// The equation `members[0] = members[1] = …` in text lines of at most `width` columns, the
/// last leaving `reserve` columns free (for a rule written after it). A continuation starts
/// with its operator, under the first term of its side.
pub fn text_lines(members: &[Printed], width: usize, reserve: usize) -> Vec<String> {
    let one_line = members
        .iter()
        .map(|m| m.s.as_str())
        .collect::<Vec<_>>()
        .join(" = ");
    if UnicodeWidthStr::width(one_line.as_str()) + reserve <= width || members.is_empty() {
        return vec![one_line];
    }
    let width = width as f64;
    let lhs = &members[0];
    let lhs_width = text_width(&lhs.s);
    let mut lines = Vec::new();
    // A short left side keeps the first right side on its line; a long one gets a line alone.
    let eq_col = if lhs_width <= width / 3.0 {
        lhs_width as usize + 1
    } else {
        for (i, seg) in segments(lhs, &text_width, &|_| width, 0.0)
            .iter()
            .enumerate()
        {
            lines.push(if i == 0 {
                seg.text.to_string()
            } else {
                text_continuation(seg, 2)
            });
        }
        4
    };
    for (n, member) in members.iter().enumerate().skip(1) {
        let col = eq_col + 2;
        let room = |after: Option<Break>| match after {
            None => width - col as f64,
            Some(b) => width - (col + 2 * (indent_levels(b) - 1)) as f64,
        };
        let reserve = if n + 1 == members.len() {
            reserve as f64
        } else {
            0.0
        };
        for (i, seg) in segments(member, &text_width, &room, reserve)
            .iter()
            .enumerate()
        {
            if i == 0 {
                if n == 1 && lines.is_empty() {
                    lines.push(format!("{} = {}", lhs.s, seg.text));
                } else {
                    lines.push(format!("{}= {}", " ".repeat(eq_col), seg.text));
                }
            } else {
                lines.push(text_continuation(seg, col));
            }
        }
    }
    lines
}

fn text_continuation(seg: &Segment, col: usize) -> String {
    match seg.after {
        None => format!("{}{}", " ".repeat(col), seg.text),
        Some(b) => {
            let op = if b.kind == BreakKind::Product {
                "·"
            } else {
                ""
            };
            format!(
                "{}{op}{}",
                " ".repeat(col + 2 * (indent_levels(b) - 1)),
                seg.text
            )
        }
    }
}

/// How an equation is set in LaTeX rows.
#[derive(Copy, Clone, Debug)]
pub struct LatexRoom {
    /// The points the whole row may take.
    pub width: f64,
    /// The width of the alignment's left column (the widest left side it holds).
    pub left_column: f64,
    /// Always write `&=` (a row of an `align*`), even when the equation fits one line.
    pub aligned: bool,
}

impl LatexRoom {
    /// A displayed equation alone (`\[ … \]`, `$$ … $$`).
    pub fn display(lhs: &Printed) -> LatexRoom {
        LatexRoom {
            width: LATEX_WIDTH,
            left_column: latex_width(&lhs.s),
            aligned: false,
        }
    }

    /// Whether a left side this wide shares the alignment column with the others, or is set
    /// on a line of its own (a long `∂/∂a (…)` would push every right side off the page).
    pub fn short_left(width: f64) -> bool {
        width <= LATEX_WIDTH / 3.0
    }
}

/// The equation `members[0] = members[1] = …` as rows of an alignment: one row when it fits
/// (written with `&=` only if `room.aligned`), else `lhs &= …` and continuation rows
/// `&\quad {}+ …`; a long left side gets a row of its own.
pub fn latex_rows(members: &[Printed], room: LatexRoom) -> Vec<String> {
    let Some(lhs) = members.first() else {
        return Vec::new();
    };
    let lhs_width = latex_width(&lhs.s);
    let rhs: Vec<&str> = members[1..].iter().map(|m| m.s.as_str()).collect();
    let rhs_width: f64 = members[1..]
        .iter()
        .map(|m| latex_width(&m.s) + EQUALS)
        .sum();
    let short_left = LatexRoom::short_left(lhs_width);
    let fits = room.left_column.max(lhs_width) + rhs_width <= room.width;
    if fits && !room.aligned {
        return vec![
            std::iter::once(lhs.s.as_str())
                .chain(rhs.iter().copied())
                .collect::<Vec<_>>()
                .join(" = "),
        ];
    }
    if fits && short_left {
        let mut rows = vec![format!("{} &= {}", lhs.s, rhs.first().unwrap_or(&""))];
        rows.extend(rhs.iter().skip(1).map(|r| format!("&= {r}")));
        return rows;
    }
    let rows = broken_rows(members, room, lhs_width);
    if rows.len() == 1 && !room.aligned {
        // Nothing to break at: the equation as one line, however long.
        return vec![
            std::iter::once(lhs.s.as_str())
                .chain(rhs.iter().copied())
                .collect::<Vec<_>>()
                .join(" = "),
        ];
    }
    rows
}

fn broken_rows(members: &[Printed], room: LatexRoom, lhs_width: f64) -> Vec<String> {
    let lhs = &members[0];
    let short_left = LatexRoom::short_left(lhs_width);
    let mut rows = Vec::new();
    let (left, indent) = if short_left {
        (room.left_column.max(lhs_width), "")
    } else {
        let room_for = |after: Option<Break>| {
            let quads = after.map_or(0.0, |b| QUAD * indent_levels(b) as f64);
            room.width - room.left_column - quads
        };
        for seg in segments(lhs, &latex_piece_width, &room_for, 0.0) {
            let text = balanced(seg.text);
            rows.push(match seg.after {
                None => format!("& {text}"),
                Some(b) => format!("&\\quad {{}}{}{text}", product_dot(b)),
            });
        }
        (room.left_column, "\\quad ")
    };
    for (n, member) in members.iter().enumerate().skip(1) {
        let room_for = |after: Option<Break>| {
            let quads = match after {
                None => 0.0,
                Some(b) => QUAD * indent_levels(b) as f64,
            };
            room.width - left - EQUALS - quads - if short_left { 0.0 } else { QUAD }
        };
        for (i, seg) in segments(member, &latex_piece_width, &room_for, 0.0)
            .iter()
            .enumerate()
        {
            let text = balanced(seg.text);
            let seg = Segment {
                text: &text,
                after: seg.after,
            };
            let row = match (i, seg.after) {
                (0, _) if n == 1 && short_left => format!("{} &= {}", lhs.s, seg.text),
                (0, _) => format!("&{indent}= {}", seg.text),
                (_, None) => format!("&{indent}{}", seg.text),
                (_, Some(b)) => {
                    // One `\quad` a level: the deeper the break, the further in.
                    let quads = "\\quad".repeat(indent_levels(b));
                    let op = product_dot(b);
                    // `{}` makes the leading sign or dot a binary operator, spaced as one.
                    format!("&{indent}{quads} {{}}{op}{}", seg.text)
                }
            };
            rows.push(row);
        }
    }
    rows
}

/// A row cut inside `\left( … \right)`: each delimiter left open is closed with `\right.`
/// at the row's end, and each one closed without its opening gets `\left.` at its start, as
/// LaTeX and KaTeX require of every row.
fn balanced(row: &str) -> String {
    let (mut open, mut unopened) = (0usize, 0usize);
    let mut rest = row;
    while let Some(at) = rest.find('\\') {
        let after = &rest[at + 1..];
        if after.starts_with("left") && !after[4..].starts_with(|c: char| c.is_ascii_alphabetic()) {
            open += 1;
        } else if after.starts_with("right")
            && !after[5..].starts_with(|c: char| c.is_ascii_alphabetic())
        {
            if open > 0 {
                open -= 1;
            } else {
                unopened += 1;
            }
        }
        rest = &rest[at + 1..];
    }
    if open == 0 && unopened == 0 {
        return row.to_string();
    }
    format!(
        "{}{row}{}",
        "\\left. ".repeat(unopened),
        " \\right.".repeat(open)
    )
}

/// How far in a continuation starts: one step a level, at most three (deeper levels would
/// leave a deeply nested formula no room).
fn indent_levels(b: Break) -> usize {
    (1 + b.depth as usize).min(3)
}

fn product_dot(b: Break) -> &'static str {
    if b.kind == BreakKind::Product {
        "\\cdot "
    } else {
        ""
    }
}

/// An `=` with its spacing, in points.
const EQUALS: f64 = 13.4;
/// `\quad`, in points.
const QUAD: f64 = 10.0;

/// An estimate of the width of LaTeX math in points at 10 pt, display style: letters and
/// digits at their average width, scripts at 70 %, a fraction as its wider part, binary
/// operators and relations with their spacing. It errs on the wide side.
pub fn latex_width(s: &str) -> f64 {
    let chars: Vec<char> = s.chars().collect();
    width_of(&chars, &mut 0, false, false) * 1.05
}

/// [`latex_width`] of a part that follows an operand (a `+` it starts with is binary).
fn latex_piece_width(s: &str) -> f64 {
    let chars: Vec<char> = s.chars().collect();
    width_of(&chars, &mut 0, false, true) * 1.05
}

/// The width of `chars[*i..]` up to the end or (with `group`) the closing brace of a group.
fn width_of(chars: &[char], i: &mut usize, group: bool, after_operand: bool) -> f64 {
    let mut total = 0.0;
    // Whether an operand precedes (a `-` after one is binary and gets its spacing).
    let mut operand = after_operand;
    let mut last_script: f64 = 0.0;
    while *i < chars.len() {
        let c = chars[*i];
        *i += 1;
        let mut script = 0.0;
        let w = match c {
            '}' if group => return total,
            '{' => {
                let w = width_of(chars, i, true, false);
                operand = w > 0.0 || operand;
                w
            }
            '^' | '_' => {
                let w = 0.7 * argument(chars, i);
                // A subscript under a superscript shares its space.
                let extra = (w - last_script).max(0.0);
                script = w.max(last_script);
                extra
            }
            '\\' => {
                let start = *i;
                while *i < chars.len() && chars[*i].is_ascii_alphabetic() {
                    *i += 1;
                }
                let word: String = chars[start..*i].iter().collect();
                if word.is_empty() {
                    // `\,`, `\{`, `\|`, `\\`…
                    *i += 1;
                    3.0
                } else {
                    let w = command(&word, chars, i, operand);
                    operand = !matches!(
                        word.as_str(),
                        "cdot" | "times" | "odot" | "quad" | "qquad" | "left" | "leq" | "geq"
                    );
                    w
                }
            }
            '+' | '=' | '<' | '>' => {
                let w = if operand { 12.2 } else { 7.8 };
                operand = false;
                w
            }
            '-' => {
                let w = if operand { 12.2 } else { 7.8 };
                operand = false;
                w
            }
            ' ' | '&' | '~' => 0.0,
            '(' | ')' | '[' | ']' | '|' => {
                operand = c == ')' || c == ']' || c == '|';
                3.9
            }
            ',' | '.' | ';' | '\'' | '!' => 2.8,
            c if c.is_ascii_digit() => {
                operand = true;
                5.0
            }
            _ => {
                operand = true;
                5.6
            }
        };
        total += w;
        last_script = script;
    }
    total
}

/// The width of a command's argument: a braced group or a single token.
fn argument(chars: &[char], i: &mut usize) -> f64 {
    while chars.get(*i) == Some(&' ') {
        *i += 1;
    }
    match chars.get(*i) {
        Some('{') => {
            *i += 1;
            width_of(chars, i, true, false)
        }
        Some('\\') => {
            let mut j = *i + 1;
            while j < chars.len() && chars[j].is_ascii_alphabetic() {
                j += 1;
            }
            let sub: String = chars[*i..j.max(*i + 2)].iter().collect();
            *i = j.max(*i + 2);
            latex_width(&sub)
        }
        Some(_) => {
            *i += 1;
            5.0
        }
        None => 0.0,
    }
}

fn command(word: &str, chars: &[char], i: &mut usize, operand: bool) -> f64 {
    match word {
        "frac" | "tfrac" | "dfrac" => {
            let num = argument(chars, i);
            let den = argument(chars, i);
            num.max(den) + 2.4
        }
        "sqrt" => argument(chars, i) + 8.3,
        "mathrm" | "mathit" | "mathbf" | "mathsf" | "text" | "textit" | "operatorname" => {
            argument(chars, i) * 0.95
        }
        "left" | "right" | "bigl" | "bigr" | "Bigl" | "Bigr" => {
            // The delimiter that follows.
            if chars.get(*i) == Some(&'\\') {
                *i += 1;
                while *i < chars.len() && chars[*i].is_ascii_alphabetic() {
                    *i += 1;
                }
            } else {
                *i += 1;
            }
            4.5
        }
        "sum" | "prod" => 14.4,
        "cdot" | "odot" | "times" => {
            if operand {
                7.8
            } else {
                5.0
            }
        }
        "quad" => QUAD,
        "qquad" => 2.0 * QUAD,
        "partial" => 5.7,
        "exp" | "log" | "ln" | "tanh" | "sin" | "cos" | "max" | "min" => word.len() as f64 * 5.0,
        "infty" => 10.0,
        "ldots" | "cdots" | "dots" => 13.4,
        "leftarrow" | "to" | "rightarrow" => 15.6,
        "mathbb" => argument(chars, i),
        _ => 6.0,
    }
}

// ---- The layouts of a document's equations, by format. ----

/// Steps in one LaTeX alignment at most: KaTeX expands each `\tag*` several times and stops
/// a formula at 1000 expansions.
pub const STEPS_PER_BLOCK: usize = 20;
/// Text columns before a step's formula (the template's indent).
const TEXT_INDENT: usize = 2;
/// Text columns kept free for a step's rule at the end of its last line; a longer rule runs
/// past the width rather than break a formula that fits.
const RULE_RESERVE: usize = 20;
/// Text columns before a result or a definition (`  result:    `).
pub const TEXT_LABEL: usize = 13;

/// A formula with nowhere to break (a label).
pub fn plain(s: String) -> Printed {
    Printed { s, breaks: vec![] }
}

/// The rows of each step's equation (a step view's `rows` in `render::document`): in LaTeX
/// the steps of one alignment share its left column, so each block's widest left side sets
/// the room.
pub fn step_rows(format: Format, equations: &[Vec<Printed>], rules: &[String]) -> Vec<Vec<String>> {
    match format {
        Format::Text => equations
            .iter()
            .zip(rules)
            .map(|(members, rule)| {
                // The rule follows the last line: `    (sum rule)`.
                let reserve = (rule.chars().count() + 6).min(RULE_RESERVE);
                text_lines(members, TEXT_WIDTH - TEXT_INDENT, reserve)
            })
            .collect(),
        Format::Markdown => equations
            .iter()
            .map(|members| display_rows(format, members, 0))
            .collect(),
        Format::Latex => {
            let lefts: Vec<f64> = equations.iter().map(|m| latex_width(&m[0].s)).collect();
            equations
                .iter()
                .enumerate()
                .map(|(n, members)| {
                    let block = n / STEPS_PER_BLOCK * STEPS_PER_BLOCK;
                    let left_column = lefts[block..(block + STEPS_PER_BLOCK).min(lefts.len())]
                        .iter()
                        .copied()
                        .filter(|&w| LatexRoom::short_left(w))
                        .fold(0.0, f64::max);
                    let room = LatexRoom {
                        width: LATEX_WIDTH,
                        left_column,
                        aligned: true,
                    };
                    latex_rows(members, room)
                })
                .collect()
        }
        Format::Json => equations
            .iter()
            .map(|m| {
                vec![
                    m.iter()
                        .map(|p| p.s.as_str())
                        .collect::<Vec<_>>()
                        .join(" = "),
                ]
            })
            .collect(),
    }
}

/// A displayed equation alone: text lines after `indent` columns, or LaTeX rows (one row
/// without `&` when it fits).
pub fn display_rows(format: Format, members: &[Printed], indent: usize) -> Vec<String> {
    match format {
        Format::Text => text_lines(members, TEXT_WIDTH - indent, 0),
        _ => latex_rows(members, LatexRoom::display(&members[0])),
    }
}

/// A formula alone, without a left side (check's corrected formula): text lines after
/// `indent` columns, or LaTeX alignment rows (`& …`, `&\quad {}+ …`; one row when it fits).
pub fn formula_rows(format: Format, formula: Printed, indent: usize) -> Vec<String> {
    match format {
        Format::Text => text_lines(&[formula], TEXT_WIDTH - indent, 0),
        _ => latex_rows(
            &[formula],
            LatexRoom {
                width: LATEX_WIDTH,
                left_column: 0.0,
                aligned: false,
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum_of(terms: &[&str]) -> Printed {
        let mut s = String::new();
        let mut breaks = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            if i > 0 {
                breaks.push(Break {
                    at: s.len(),
                    skip: 0,
                    depth: 0,
                    kind: BreakKind::Sum,
                });
                s.push_str(" + ");
            }
            s.push_str(t);
        }
        Printed { s, breaks }
    }

    fn plain(s: &str) -> Printed {
        Printed {
            s: s.to_string(),
            breaks: vec![],
        }
    }

    #[test]
    fn a_short_equation_stays_on_one_line() {
        let lines = text_lines(&[plain("∂C/∂w3"), sum_of(&["a", "b"])], 100, 10);
        assert_eq!(lines, ["∂C/∂w3 = a + b"]);
        let rows = latex_rows(
            &[plain("C"), sum_of(&["a", "b"])],
            LatexRoom::display(&plain("C")),
        );
        assert_eq!(rows, ["C = a + b"]);
    }

    #[test]
    fn a_long_sum_breaks_before_its_plus_signs() {
        let terms: Vec<String> = (1..=30).map(|k| format!("w{k}·x{k}")).collect();
        let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
        let lines = text_lines(&[plain("z"), sum_of(&terms)], 60, 0);
        assert!(lines.len() > 3, "{lines:#?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 60), "{lines:#?}");
        assert!(lines[0].starts_with("z = w1·x1 + "));
        assert!(lines[1].starts_with("    + "), "{lines:#?}");
        // Nothing lost: the lines read back as the formula.
        let joined = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        assert_eq!(joined, format!("z = {}", terms.join(" + ")));
    }

    #[test]
    fn latex_continuations_are_alignment_rows() {
        let terms: Vec<String> = (1..=40).map(|k| format!("w_{{{k}}} x_{{{k}}}")).collect();
        let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
        let lhs = plain("z");
        let rows = latex_rows(&[lhs.clone(), sum_of(&terms)], LatexRoom::display(&lhs));
        assert!(rows.len() > 2, "{rows:#?}");
        assert!(rows[0].starts_with("z &= w_{1} x_{1} + "));
        assert!(rows[1].starts_with("&\\quad {}+ "), "{rows:#?}");
        assert!(
            rows.iter().all(|r| latex_width(r) <= LATEX_WIDTH + 20.0),
            "{:?}",
            rows.iter().map(|r| latex_width(r)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn rows_cut_inside_left_right_are_closed() {
        assert_eq!(balanced("a + \\left(b + c"), "a + \\left(b + c \\right.");
        assert_eq!(balanced("d\\right) e"), "\\left. d\\right) e");
        assert_eq!(balanced("\\left(x\\right)"), "\\left(x\\right)");
        assert_eq!(balanced("\\leftarrow x"), "\\leftarrow x");
    }

    #[test]
    fn widths_are_estimated_from_the_source() {
        let frac = latex_width("\\frac{\\partial C}{\\partial w_{3}}");
        assert!((10.0..20.0).contains(&frac), "{frac}");
        let long = latex_width(&"x_{1} + ".repeat(20));
        assert!(long > 300.0, "{long}");
    }
}

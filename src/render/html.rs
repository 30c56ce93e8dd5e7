//! HTML pages: any command's Markdown document as one self-contained page that opens offline,
//! math as MathML, styles inline, light and dark.
//!
//! The Markdown documents are the source (one layout per command, already in the templates);
//! `pulldown-cmark` reads them with its math extension and every `$…$`/`$$…$$` is turned into
//! MathML Core by `math-core`, which Chromium, Firefox and Safari render natively, so the page
//! needs no script or font from anywhere. Raw HTML in a document is never trusted: it is shown
//! as text (user strings reach the page escaped even if a template let one through), except
//! the page's own figures, which replace their marker comments (`<!-- figure:NAME -->`).

use math_core::{LatexToMathML, MathCoreConfig, MathDisplay};
use pulldown_cmark::{CowStr, Event, Options, Parser};
use serde::Serialize;

use crate::core::error::Diagnostic;
use crate::render::document::{Layout, render_template};
use crate::render::escape::html_text;
use crate::render::linebreak::latex_width;
use std::ops::Range;

/// The class of a formula that `math-core` could not convert (shown as its LaTeX source).
pub const MATH_ERROR_CLASS: &str = "math-error";

/// A picture of our own (an SVG we drew) to put where its marker comment stands.
pub struct Figure {
    pub name: &'static str,
    pub svg: String,
}

impl Figure {
    /// The comment a Markdown document writes where the figure goes.
    pub fn marker(name: &str) -> String {
        format!("<!-- figure:{name} -->")
    }
}

#[derive(Serialize)]
struct PageView {
    title: String,
    body: String,
    script: String,
}

/// The page of a Markdown document: its title, its body with math as MathML, the figures in
/// place of their markers, and an optional script of our own (the graph's highlighting).
pub fn page(
    title: &str,
    markdown: &str,
    figures: &[Figure],
    script: &str,
    layout: &Layout,
) -> Result<String, Diagnostic> {
    let view = PageView {
        title: html_text(title),
        body: body(markdown, figures)?,
        script: script.to_string(),
    };
    render_template("page.html", &view, None, layout)
}

/// A command's Markdown document as a page titled by its first heading (in plain words), or
/// by the program's name when it has none.
pub fn markdown_page(markdown: &str, layout: &Layout) -> Result<String, Diagnostic> {
    let title = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|h| {
            h.replace(['$', '\\'], "")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
        })
        .unwrap_or_else(|| format!("chainrule: {}", layout.source_name));
    page(&title, markdown, &[], "", layout)
}

/// The page's body alone, in one `<div class="chainrule">`: the same MathML and figures as
/// [`page`], without the page's styles, to embed in another page (a notebook's output cell).
pub fn fragment(markdown: &str, figures: &[Figure]) -> Result<String, Diagnostic> {
    Ok(format!(
        "<div class=\"chainrule\">\n{}</div>\n",
        body(markdown, figures)?
    ))
}

/// The Markdown as HTML: math as MathML, raw HTML shown as text, our figures in place.
fn body(markdown: &str, figures: &[Figure]) -> Result<String, Diagnostic> {
    let converter = LatexToMathML::new(MathCoreConfig::default())
        .map_err(|_| Diagnostic::new("internal error: the MathML converter did not start"))?;
    let options = Options::ENABLE_MATH | Options::ENABLE_TABLES;
    let events = Parser::new_ext(markdown, options).map(|event| match event {
        Event::InlineMath(latex) => Event::InlineHtml(mathml(&converter, &latex, false).into()),
        Event::DisplayMath(latex) => Event::InlineHtml(display_math(&converter, &latex).into()),
        Event::Html(raw) | Event::InlineHtml(raw) => trusted_figure(&raw, figures)
            .map(|svg| Event::Html(CowStr::from(svg)))
            .unwrap_or(Event::Text(raw)),
        other => other,
    });
    let mut body = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut body, events);
    Ok(body)
}

/// A formula as MathML, or its source in an error element when it cannot be converted.
fn mathml(converter: &LatexToMathML, latex: &str, block: bool) -> String {
    let display = if block {
        MathDisplay::Block
    } else {
        MathDisplay::Inline
    };
    match converter.convert_with_local_state(latex, display) {
        Ok(result) => result.mathml,
        Err(e) => format!(
            "<code class=\"{MATH_ERROR_CLASS}\" title=\"{}\">{}</code>",
            html_text(&e.to_string()),
            html_text(latex)
        ),
    }
}

/// Points of a 10 pt display that fit a phone's width (390 px, less the page's margins, at the
/// page's math size): a wider display formula is cut into parts the browser can wrap.
const PHONE_POINTS: f64 = 140.0;

/// A display formula as MathML. One too wide for a phone is cut where a textbook breaks a
/// line ([`phone_parts`]) and each part becomes its own MathML element in a wrapping row, so
/// the browser breaks the formula again at whatever width the reader has; on a wide screen the
/// parts stand on one line as the whole formula did.
fn display_math(converter: &LatexToMathML, latex: &str) -> String {
    let parts = phone_parts(latex);
    if parts.len() < 2 {
        return mathml(converter, latex, true);
    }
    let mut row = String::from("<span class=\"formula\">");
    for part in &parts {
        let math = mathml(converter, part, true);
        // Display style, but laid out inline so the row can wrap between the parts.
        row.push_str(&math.replacen("<math display=\"block\"", "<math displaystyle=\"true\"", 1));
    }
    row.push_str("</span>");
    row
}

/// Where a formula's printed LaTeX may be cut: a binary `=`, `+` or `-` (the printer sets
/// them between spaces) outside any `{…}` group, and the parentheses it stands in.
struct Cuts {
    /// Byte offset of each operator, and the pair of parentheses (an index into `pairs`) it
    /// stands directly in.
    operators: Vec<(usize, Option<usize>)>,
    /// Parentheses outside any group, plain `(…)` or sized `\left…\right`.
    pairs: Vec<Pair>,
}

struct Pair {
    /// The opening and the closing delimiter (`\left(` or `(`).
    left: Range<usize>,
    right: Range<usize>,
    /// `\left…\right`, which cannot be split between two MathML elements as it is.
    sized: bool,
    parent: Option<usize>,
    depth: usize,
}

fn cuts(latex: &str) -> Cuts {
    let bytes = latex.as_bytes();
    let mut cuts = Cuts {
        operators: Vec::new(),
        pairs: Vec::new(),
    };
    let mut braces = 0usize;
    // Open pairs: where the opening delimiter is, and whether it is sized.
    let mut open: Vec<(Range<usize>, bool)> = Vec::new();
    let mut operators_in_open: Vec<Vec<usize>> = vec![Vec::new()];
    let mut children_in_open: Vec<Vec<usize>> = vec![Vec::new()];
    let close = |cuts: &mut Cuts,
                 open: &mut Vec<(Range<usize>, bool)>,
                 operators: &mut Vec<Vec<usize>>,
                 children: &mut Vec<Vec<usize>>,
                 right: Range<usize>,
                 closes_sized: bool| {
        // `\left…\right` pairs nest among themselves, while a plain parenthesis may be left
        // open inside one (a line break already split it): a `\right` ends the plain pairs
        // still open inside its own, and a plain `)` never ends a sized pair.
        while closes_sized && open.last().is_some_and(|(_, sized)| !sized) {
            open.pop();
            let operators_inside = operators.pop().unwrap_or_default();
            let children_inside = children.pop().unwrap_or_default();
            if let Some(parent) = operators.last_mut() {
                parent.extend(operators_inside);
            }
            if let Some(parent) = children.last_mut() {
                parent.extend(children_inside);
            }
        }
        if open.last().is_none_or(|(_, sized)| *sized != closes_sized) {
            return;
        }
        let Some((left, sized)) = open.pop() else {
            return;
        };
        let index = cuts.pairs.len();
        for op in operators.pop().unwrap_or_default() {
            cuts.operators[op].1 = Some(index);
        }
        for child in children.pop().unwrap_or_default() {
            cuts.pairs[child].parent = Some(index);
        }
        cuts.pairs.push(Pair {
            left,
            right,
            sized,
            parent: None,
            depth: open.len(),
        });
        if let Some(siblings) = children.last_mut() {
            siblings.push(index);
        }
    };
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                let start = i;
                i += 1;
                let letters = bytes[i..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphabetic())
                    .count();
                let name = &latex[i..i + letters];
                i = if letters == 0 {
                    (i + 1).min(bytes.len())
                } else {
                    i + letters
                };
                if braces == 0 && (name == "left" || name == "right") {
                    let end = delimiter_end(latex, i);
                    if name == "left" {
                        open.push((start..end, true));
                        operators_in_open.push(Vec::new());
                        children_in_open.push(Vec::new());
                    } else {
                        close(
                            &mut cuts,
                            &mut open,
                            &mut operators_in_open,
                            &mut children_in_open,
                            start..end,
                            true,
                        );
                    }
                    i = end;
                }
            }
            b'{' => {
                braces += 1;
                i += 1;
            }
            b'}' => {
                braces = braces.saturating_sub(1);
                i += 1;
            }
            b'(' if braces == 0 => {
                open.push((i..i + 1, false));
                operators_in_open.push(Vec::new());
                children_in_open.push(Vec::new());
                i += 1;
            }
            b')' if braces == 0 => {
                close(
                    &mut cuts,
                    &mut open,
                    &mut operators_in_open,
                    &mut children_in_open,
                    i..i + 1,
                    false,
                );
                i += 1;
            }
            b'=' | b'+' | b'-'
                if braces == 0
                    && i > 0
                    && bytes[i - 1] == b' '
                    && bytes.get(i + 1) == Some(&b' ') =>
            {
                if let Some(list) = operators_in_open.last_mut() {
                    list.push(cuts.operators.len());
                }
                cuts.operators.push((i, None));
                i += 1;
            }
            _ => i += 1,
        }
    }
    // Operators inside a pair that never closed cannot be cut at: they would leave it open.
    if let Some(first) = open.first() {
        let unclosed = first.0.start;
        cuts.operators.retain(|&(at, _)| at < unclosed);
    }
    cuts
}

/// The end of the delimiter after `\left` or `\right` at `at`: one character, or a command.
fn delimiter_end(latex: &str, at: usize) -> usize {
    let rest = &latex[at..];
    match rest.strip_prefix('\\') {
        Some(after) => {
            let letters = after.chars().take_while(char::is_ascii_alphabetic).count();
            at + 1 + letters.max(after.chars().next().map_or(0, char::len_utf8))
        }
        None => at + rest.chars().next().map_or(0, char::len_utf8),
    }
}

/// A display formula too wide for a phone cut into parts: before each `=`, `+` and `−` of the
/// formula itself, then, in a part still too wide, before those of the outermost parentheses
/// inside it that hold any (the widest, when several), and so on inward. A sized pair that a
/// cut crosses loses `\left…\right` (one pair cannot span two MathML elements) for a fixed
/// large size. Each part after the first starts with its operator after an empty group, so
/// the operator keeps its spacing as a binary one. A formula that fits is one part.
fn phone_parts(latex: &str) -> Vec<String> {
    if latex_width(latex) <= PHONE_POINTS {
        return vec![latex.to_string()];
    }
    let cuts = cuts(latex);
    let mut parts = Vec::new();
    cut_part(latex, &cuts, 0..latex.len(), None, &[], &mut parts);
    parts
}

/// Cuts `part` at the operators directly in `pair` (the formula's own when `None`), and each
/// piece still too wide inside its outermost parentheses, in turn.
fn cut_part(
    latex: &str,
    cuts: &Cuts,
    part: Range<usize>,
    pair: Option<usize>,
    crossed: &[usize],
    parts: &mut Vec<String>,
) {
    let mut crossed = crossed.to_vec();
    crossed.extend(
        std::iter::successors(pair, |&i| cuts.pairs[i].parent).filter(|&i| cuts.pairs[i].sized),
    );
    crossed.sort_unstable();
    crossed.dedup();
    let operators = cuts
        .operators
        .iter()
        .filter(|&&(at, p)| p == pair && part.contains(&at) && at > part.start)
        .map(|&(at, _)| at);
    let mut from = part.start;
    for to in operators.chain([part.end]) {
        let piece = from..to;
        from = to;
        let text = part_text(latex, piece.clone(), cuts, &crossed);
        let inner = (latex_width(&text) > PHONE_POINTS)
            .then(|| {
                (0..cuts.pairs.len())
                    .filter(|&index| {
                        let candidate = &cuts.pairs[index];
                        candidate.left.start >= piece.start
                            && candidate.right.end <= piece.end
                            && cuts.operators.iter().any(|(_, p)| *p == Some(index))
                    })
                    .min_by_key(|&index| {
                        let candidate = &cuts.pairs[index];
                        let width = candidate.right.end - candidate.left.start;
                        (candidate.depth, std::cmp::Reverse(width))
                    })
            })
            .flatten();
        match inner {
            Some(index) => cut_part(latex, cuts, piece, Some(index), &crossed, parts),
            None => parts.push(text),
        }
    }
}

/// One part's LaTeX: an operator it starts with set binary, and the delimiters of the sized
/// pairs a cut crosses set at a fixed large size.
fn part_text(latex: &str, part: Range<usize>, cuts: &Cuts, crossed: &[usize]) -> String {
    let mut replacements: Vec<(Range<usize>, String)> = crossed
        .iter()
        .map(|&i| &cuts.pairs[i])
        .flat_map(|pair| {
            [
                (pair.left.clone(), "\\Bigl", "\\left".len()),
                (pair.right.clone(), "\\Bigr", "\\right".len()),
            ]
        })
        .filter(|(range, _, _)| range.start >= part.start && range.end <= part.end)
        .map(|(range, size, command)| {
            let delimiter = &latex[range.start + command..range.end];
            (range, format!("{size}{delimiter}"))
        })
        .collect();
    replacements.sort_by_key(|(range, _)| range.start);
    let mut text = String::new();
    if part.start > 0 && matches!(latex.as_bytes()[part.start], b'=' | b'+' | b'-') {
        text.push_str("{}");
    }
    let mut at = part.start;
    for (range, replacement) in replacements {
        text.push_str(&latex[at..range.start]);
        text.push_str(&replacement);
        at = range.end;
    }
    text.push_str(&latex[at..part.end]);
    text
}

fn trusted_figure(raw: &str, figures: &[Figure]) -> Option<String> {
    let raw = raw.trim();
    figures
        .iter()
        .find(|f| raw == Figure::marker(f.name))
        .map(|f| format!("<figure class=\"figure\">{}</figure>\n", f.svg))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parts put back together, each sized delimiter a cut crossed sized again.
    fn rejoined(parts: &[String]) -> String {
        parts
            .iter()
            .map(|p| p.strip_prefix("{}").unwrap_or(p))
            .collect::<String>()
            .replace(r"\Bigl", r"\left")
            .replace(r"\Bigr", r"\right")
    }

    /// The parts put back together are the formula: nothing lost, repeated or reordered, and
    /// each part's groups closed.
    #[test]
    fn a_formula_cut_for_a_phone_is_its_parts_in_order() {
        let quotient = r"\frac{\partial a^{(3)}_{1}}{\partial z^{(3)}_{1}} = \frac{\partial}{\partial z^{(3)}_{1}}\left(\frac{e^{z^{(3)}_{1}}}{e^{z^{(3)}_{1}} + e^{z^{(3)}_{2}}}\right) = \frac{1}{(e^{z^{(3)}_{1}} + e^{z^{(3)}_{2}})^{2}}\left(\frac{\partial}{\partial z^{(3)}_{1}}\left(e^{z^{(3)}_{1}}\right)(e^{z^{(3)}_{1}} + e^{z^{(3)}_{2}}) - e^{z^{(3)}_{1}} \frac{\partial}{\partial z^{(3)}_{1}}\left(e^{z^{(3)}_{1}} + e^{z^{(3)}_{2}}\right)\right)";
        let short = r"\frac{\partial C}{\partial b} = \delta";
        assert_eq!(phone_parts(short), vec![short.to_string()]);
        let parts = phone_parts(quotient);
        assert!(parts.len() >= 4, "{parts:?}");
        for part in &parts {
            let opened = part.matches('{').count() - part.matches(r"\{").count();
            let closed = part.matches('}').count() - part.matches(r"\}").count();
            assert_eq!(opened, closed, "{part}");
            assert_eq!(
                part.matches(r"\left").count(),
                part.matches(r"\right").count(),
                "{part}"
            );
        }
        let joined = rejoined(&parts);
        assert_eq!(joined, quotient);
        assert!(parts[1..].iter().all(|p| p.starts_with("{}")), "{parts:?}");
    }

    /// A line break inside a plain parenthesis closes the sized pair around it with
    /// `\right.`: the plain one is not a pair to cut at, and cutting never slices a plain
    /// delimiter as if it were sized.
    #[test]
    fn a_plain_parenthesis_broken_across_lines_is_cut_around() {
        let term = |k: usize| {
            format!(r"(y_{{{k}}} \log(a_{{{k}}}) + (1 - y_{{{k}}}) \log(1 - a_{{{k}}}))")
        };
        let latex = format!(
            r"\begin{{aligned}}\frac{{\partial J}}{{\partial a_{{1}}}} &= \frac{{\partial}}{{\partial a_{{1}}}}\left(-\frac{{1}}{{4}}({} + {} \right. \\ &\quad \left. {{}}+ {} + {} + {}) \right)\end{{aligned}}",
            term(1),
            term(2),
            term(3),
            term(4),
            term(5)
        );
        let parts = phone_parts(&latex);
        let joined = rejoined(&parts);
        assert_eq!(joined, latex);
    }
}

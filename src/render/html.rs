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
        Event::DisplayMath(latex) => Event::InlineHtml(mathml(&converter, &latex, true).into()),
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

fn trusted_figure(raw: &str, figures: &[Figure]) -> Option<String> {
    let raw = raw.trim();
    figures
        .iter()
        .find(|f| raw == Figure::marker(f.name))
        .map(|f| format!("<figure class=\"figure\">{}</figure>\n", f.svg))
}

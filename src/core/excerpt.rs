//! What of the source a report shows, so that it is readable on any terminal: invisible and
//! control characters written as `<U+200B>`, a long line cut to a window around the spot, and
//! quoted text in messages shortened. Offsets into the source are mapped to offsets into the
//! excerpt, and back, so carets land on visible columns while line and column numbers still
//! count the characters of the real source.

use std::ops::Range;

use unicode_width::UnicodeWidthChar;

/// A line wider than this (in terminal columns) is shown as a window around the spot.
const MAX_LINE_WIDTH: usize = 120;
/// Columns of the window before the spot.
const WINDOW_BEFORE: usize = 40;
/// Columns of the window in all.
const WINDOW_WIDTH: usize = 100;
/// Quoted text in a message longer than this (in characters) is shortened.
const MAX_QUOTE: usize = 60;
/// The mark for a cut part of a line.
const CUT: &str = "...";

/// Whether a character would not show, or would disturb the line, if printed as it is:
/// control characters, zero-width and combining characters, bidirectional controls, and
/// spaces other than the plain space and the tab.
pub fn is_invisible(c: char) -> bool {
    match c {
        ' ' | '\t' => false,
        '\u{AD}' => true,
        _ => c.is_control() || c.is_whitespace() || c.width().is_none_or(|w| w == 0),
    }
}

/// How a character is named in messages: itself in backticks when it shows, its code point
/// when it does not (`U+200B`), so the same character gets the same words everywhere.
pub fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '\t' => "a tab".to_string(),
        c if is_invisible(c) => format!("the {}", character(c)),
        c => format!("`{c}`"),
    }
}

/// `character `§``, or `invisible character `U+200B`` for one that does not show.
pub fn character(c: char) -> String {
    if is_invisible(c) {
        format!("invisible character `U+{:04X}`", c as u32)
    } else {
        format!("character `{c}`")
    }
}

/// How an invisible character is written: `<U+200B>`.
pub fn spelled(c: char) -> String {
    format!("<U+{:04X}>", c as u32)
}

/// Text with every invisible character written as `<U+XXXX>`.
pub fn visible(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_invisible(c) && c != '\n' {
            out.push_str(&spelled(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A name of one line (a file's name) as a report or a document shows it: every invisible or
/// control character written as `<U+XXXX>`, line breaks and tabs included, so that a file
/// named with a terminal's escape sequence cannot retitle the terminal or move its cursor.
pub fn visible_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if is_invisible(c) || c.is_control() {
            out.push_str(&spelled(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// A message made safe to print: invisible characters spelled out and long quotations
/// (between backticks) cut in the middle.
pub fn message(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let count = part.chars().count();
        if i % 2 == 1 && count > MAX_QUOTE {
            let head: String = part.chars().take(MAX_QUOTE - 15).collect();
            let tail: String = part.chars().skip(count - 10).collect();
            out.push_str(&visible(&format!("{head}{CUT}{tail}")));
        } else {
            out.push_str(&visible(part));
        }
    }
    out
}

/// The source as a report shows it: the lines holding a spot, made visible and windowed; the
/// other lines left empty (a report does not show them), so line numbers stay the same.
pub struct Excerpt<'s> {
    source: &'s str,
    pub text: String,
    /// `(offset in the source, offset in the excerpt)`, increasing in both.
    anchors: Vec<(usize, usize)>,
}

impl<'s> Excerpt<'s> {
    /// `spots` are byte ranges in `source` (already on character boundaries); the first spot
    /// of a line decides where its window goes.
    pub fn new(source: &'s str, spots: &[Range<usize>]) -> Excerpt<'s> {
        let mut excerpt = Excerpt {
            source,
            text: String::new(),
            anchors: vec![],
        };
        let mut line_start = 0;
        for line in source.split_inclusive('\n') {
            let body = line.strip_suffix('\n').unwrap_or(line);
            let body = body.strip_suffix('\r').unwrap_or(body);
            let range = line_start..line_start + body.len();
            let focus = spots.iter().find_map(|spot| {
                let touches = spot.start <= range.end && spot.end >= range.start;
                touches.then(|| spot.start.clamp(range.start, range.end))
            });
            excerpt.anchors.push((line_start, excerpt.text.len()));
            if let Some(focus) = focus {
                excerpt.show_line(range.clone(), focus);
            }
            excerpt.anchors.push((range.end, excerpt.text.len()));
            if line.len() > body.len() {
                excerpt.text.push('\n');
            }
            line_start += line.len();
        }
        excerpt.anchors.push((source.len(), excerpt.text.len()));
        excerpt
    }

    /// Appends the line `range` of the source, windowed around `focus` when it is too wide.
    fn show_line(&mut self, range: Range<usize>, focus: usize) {
        let line = &self.source[range.clone()];
        let width = |c: char| {
            if is_invisible(c) {
                spelled(c).len()
            } else {
                c.width().unwrap_or(1)
            }
        };
        let total: usize = line.chars().map(width).sum();
        let (mut from, mut to) = (range.start, range.end);
        if total > MAX_LINE_WIDTH {
            let mut before = 0;
            from = focus;
            for (i, c) in self.source[range.start..focus].char_indices().rev() {
                before += width(c);
                if before > WINDOW_BEFORE {
                    break;
                }
                from = range.start + i;
            }
            let mut used = before.min(WINDOW_BEFORE);
            to = focus;
            for c in self.source[focus..range.end].chars() {
                used += width(c);
                if used > WINDOW_WIDTH {
                    break;
                }
                to += c.len_utf8();
            }
        }
        if from > range.start {
            self.text.push_str(CUT);
        }
        for (i, c) in self.source[from..to].char_indices() {
            self.anchors.push((from + i, self.text.len()));
            if is_invisible(c) {
                self.text.push_str(&spelled(c));
            } else {
                self.text.push(c);
            }
        }
        self.anchors.push((to, self.text.len()));
        if to < range.end {
            self.text.push_str(CUT);
        }
    }

    /// The excerpt offset of a source offset (a cut-away offset goes to the cut's mark).
    pub fn to_excerpt(&self, offset: usize) -> usize {
        let i = self.anchors.partition_point(|&(o, _)| o <= offset);
        self.anchors[i.saturating_sub(1)].1
    }

    /// The 1-based column, in characters of the source, of an excerpt offset.
    pub fn source_column(&self, excerpt_offset: usize) -> usize {
        let i = self.anchors.partition_point(|&(_, e)| e <= excerpt_offset);
        let offset = self.anchors[i.saturating_sub(1)].0;
        let line_start = self.source[..offset].rfind('\n').map_or(0, |n| n + 1);
        self.source[line_start..offset].chars().count() + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_spelled_out() {
        for c in [
            '\u{200B}', '\u{200D}', '\u{202E}', '\u{301}', '\0', '\u{2028}', '\u{B}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['a', 'σ', ' ', '\t', '−', '中'] {
            assert!(!is_invisible(c), "{c:?}");
        }
        assert_eq!(visible("a\u{200B}b"), "a<U+200B>b");
        assert_eq!(
            describe_char('\u{202E}'),
            "the invisible character `U+202E`"
        );
        assert_eq!(describe_char('('), "`(`");
    }

    #[test]
    fn offsets_map_both_ways() {
        let source = "ab\u{200B}c\nxyz\n";
        let spot = 5..6; // `c`
        let excerpt = Excerpt::new(source, std::slice::from_ref(&spot));
        assert_eq!(excerpt.text, "ab<U+200B>c\n\n");
        let at = excerpt.to_excerpt(spot.start);
        assert_eq!(&excerpt.text[at..at + 1], "c");
        assert_eq!(excerpt.source_column(at), 4);
    }

    #[test]
    fn long_lines_are_windowed() {
        let source = format!("{}X{}", "a".repeat(100_000), "b".repeat(100_000));
        let spot = 100_000..100_001;
        let excerpt = Excerpt::new(&source, std::slice::from_ref(&spot));
        assert!(
            excerpt.text.len() <= WINDOW_WIDTH + 2 * CUT.len(),
            "{}",
            excerpt.text
        );
        assert!(excerpt.text.starts_with(CUT) && excerpt.text.ends_with(CUT));
        let at = excerpt.to_excerpt(spot.start);
        assert_eq!(&excerpt.text[at..at + 1], "X");
        assert_eq!(excerpt.source_column(at), 100_001);
    }

    #[test]
    fn long_quotations_are_shortened() {
        let long = "w".repeat(1000);
        let shown = message(&format!("unknown name `{long}`"));
        assert!(shown.len() < 100, "{shown}");
        assert!(shown.starts_with("unknown name `www") && shown.ends_with("ww`"));
    }
}

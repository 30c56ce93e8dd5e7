//! The JSON writer: every command's `--format json` document (its fields: docs/json.md) goes out through
//! [`document`], pretty-printed and ending in a newline, so the outputs agree in their layout.

use serde::Serialize;

/// A whole JSON document: pretty-printed, one trailing newline.
pub fn document(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("views are plain data and serialise");
    text.push('\n');
    text
}

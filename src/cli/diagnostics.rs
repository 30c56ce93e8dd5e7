//! Failures and how they are reported: one type for everything that ends a run with exit 2,
//! one mapping from a library diagnostic to it, and the choice of colour.

use std::io::IsTerminal;

use chainrule::{Diagnostic, Input};

use super::options::ColorArg;
use super::output::WriteError;

/// A text read from somewhere, with the name to show for it in reports.
#[derive(Clone)]
pub struct Text {
    pub name: String,
    pub text: String,
}

impl Text {
    /// A command-line argument (`--at`, `--wrt`, `--claim`) as a text a report can point into.
    pub fn argument(flag: &str, value: &str) -> Text {
        Text {
            name: flag.to_string(),
            text: value.to_string(),
        }
    }
}

/// A failure to report: a diagnostic, and the text its spans point into (a file, an argument),
/// if any.
pub struct Failure {
    pub diagnostic: Diagnostic,
    pub origin: Option<Text>,
}

impl Failure {
    /// A failure about the run as a whole (a file that cannot be read, a missing flag).
    pub fn plain(diagnostic: Diagnostic) -> Failure {
        Failure {
            diagnostic,
            origin: None,
        }
    }

    /// The one mapping from a library diagnostic to a failure: its spans point into `text`.
    pub fn in_text(text: &Text) -> impl Fn(Diagnostic) -> Failure + '_ {
        move |diagnostic| Failure {
            diagnostic,
            origin: Some(text.clone()),
        }
    }

    /// The report as printed on standard error: a diagnostic about one of the inputs given
    /// beside the program says which options give it.
    pub fn render(&self, color: bool) -> String {
        let mut diagnostic = self.diagnostic.clone();
        if let Some(input) = diagnostic.input {
            let how = how_given(input);
            diagnostic.help = Some(match diagnostic.help {
                Some(help) => format!("{help}; {how}").into(),
                None => how.into(),
            });
        }
        match &self.origin {
            Some(text) => diagnostic.render(&text.name, &text.text, color),
            None => diagnostic.render("", "", color),
        }
    }
}

/// The options that give an input the library's diagnostics name without knowing the
/// command line.
fn how_given(input: Input) -> &'static str {
    match input {
        Input::Point => {
            "the values are given with `--at NAME=VALUE,...` or `--values FILE`, \
             `--init zeros|random|xavier` draws the parameters, and `--example N` takes the \
             inputs and targets from a data set"
        }
        Input::LearningRate => "the learning rate is given with `--lr`",
        Input::Targets => "the derivatives are asked for with `--wrt NAME,...` or `--all`",
    }
}

impl From<WriteError> for Failure {
    fn from(error: WriteError) -> Failure {
        let diagnostic = Diagnostic::new(error.to_string());
        Failure::plain(match error {
            WriteError::OutputIsInput { .. } | WriteError::OutputIsStdin { .. } => diagnostic
                .with_help("write the result to another file; nothing was read or written"),
            WriteError::ReadOnly { .. } => diagnostic.with_help(
                "add `--force` to replace it (its mode is kept), or write to another file; \
                 nothing was written",
            ),
            WriteError::Owner { .. } => diagnostic.with_help(
                "add `--force` to replace it all the same, or write to another file; nothing \
                 was written",
            ),
            WriteError::NoDirectory { .. } => {
                diagnostic.with_help("create the directory first, or write to another file")
            }
            WriteError::File { .. } => diagnostic.with_help(
                "the file was left as it was: chainrule replaces it only once the whole result \
                 is written",
            ),
            WriteError::Stdout(_) => diagnostic,
        })
    }
}

/// Whether reports are coloured: `--color always|never` decide; `auto` colours a terminal
/// unless `NO_COLOR` is set to anything non-empty (no-color.org). The first answer is kept
/// for the warnings the commands write as they read ([`warn`]).
pub fn use_color(choice: ColorArg) -> bool {
    *COLOR.get_or_init(|| {
        decide_color(
            choice,
            std::env::var_os("NO_COLOR").as_deref(),
            std::io::stderr().is_terminal(),
        )
    })
}

static COLOR: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

/// Writes a warning about an input to standard error at once (the result still follows).
pub fn warn(diagnostic: &chainrule::Diagnostic, text: &Text) {
    use std::io::Write;
    let color = COLOR.get().copied().unwrap_or(false);
    let report = diagnostic.render_warning(&text.name, &text.text, color);
    let _ = std::io::stderr().write_all(report.as_bytes());
}

fn decide_color(choice: ColorArg, no_color: Option<&std::ffi::OsStr>, terminal: bool) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_turns_colour_off_on_a_terminal_unless_the_flag_asks_for_it() {
        let set = Some(std::ffi::OsStr::new("1"));
        let empty = Some(std::ffi::OsStr::new(""));
        assert!(decide_color(ColorArg::Auto, None, true));
        assert!(decide_color(ColorArg::Auto, empty, true));
        assert!(!decide_color(ColorArg::Auto, set, true));
        assert!(!decide_color(ColorArg::Auto, None, false));
        assert!(decide_color(ColorArg::Always, set, false));
        assert!(!decide_color(ColorArg::Never, None, true));
    }
}

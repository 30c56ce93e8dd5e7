//! Reading what the user gives: the network file (or the built-in example), claims and values
//! files, standard input (at most once), and the paths of everything read, so that an output
//! can be refused before anything is read when it would overwrite one of them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use chainrule::{Diagnostic, Span};

use super::diagnostics::{Failure, Text};
use super::output::shown;

/// The network: a file, standard input (`-`), or with none the built-in example.
pub fn read_program(file: Option<&Path>) -> Result<Text, Failure> {
    match file {
        None => Ok(Text {
            name: chainrule::BUILTIN_NAME.to_string(),
            text: chainrule::BUILTIN_EXAMPLE.to_string(),
        }),
        Some(path) => read_text(path).map_err(|mut failure| {
            let word = path.to_string_lossy();
            let looks_like_a_name = !path.exists()
                && !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '/');
            if looks_like_a_name && failure.diagnostic.help.is_none() {
                failure.diagnostic = failure.diagnostic.with_help(format!(
                    "`{word}` was read as the network file (the first argument); to name a \
                     derivative, write `--wrt {word}`"
                ));
            }
            failure
        }),
    }
}

static STDIN_TAKEN: AtomicBool = AtomicBool::new(false);

/// A file as UTF-8 text; `-` is standard input, which can be read once per run.
pub fn read_text(path: &Path) -> Result<Text, Failure> {
    let (name, bytes) = read_bytes(path)?;
    text_of(name, bytes)
}

/// A file's bytes and the name to show for it; `-` is standard input, read once per run.
pub fn read_bytes(path: &Path) -> Result<(String, Vec<u8>), Failure> {
    Ok(if path == Path::new("-") {
        if STDIN_TAKEN.swap(true, Ordering::SeqCst) {
            return Err(stdin_twice());
        }
        let mut bytes = Vec::new();
        std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
            Failure::plain(Diagnostic::new(format!("cannot read standard input: {e}")))
        })?;
        ("<stdin>".to_string(), bytes)
    } else {
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::plain(Diagnostic::new(format!(
                "cannot read `{}`: {e}",
                shown(path)
            )))
        })?;
        (shown(path), bytes)
    })
}

/// Bytes read from `name` as UTF-8 text, or an error with a caret on the first byte that is not.
pub fn text_of(name: String, bytes: Vec<u8>) -> Result<Text, Failure> {
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Text { name, text }),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            // Shown with the bad bytes replaced; the caret stands on the first replacement.
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let diagnostic = Diagnostic::at(
                Span::new(valid_up_to, valid_up_to + '\u{FFFD}'.len_utf8()),
                "the file is not UTF-8 text",
                "this byte is not UTF-8",
            )
            .with_help("save the file as UTF-8; chainrule reads `σ`, `η` and `−` in UTF-8");
            Err(Failure {
                diagnostic,
                origin: Some(Text { name, text }),
            })
        }
    }
}

/// The files a command reads, for the check that `-o` is none of them (standard input and the
/// built-in example are not files).
#[derive(Default)]
pub struct InputPaths {
    pub files: Vec<PathBuf>,
    /// How many inputs are standard input (`-`).
    pub stdin: usize,
}

impl InputPaths {
    pub fn add(&mut self, path: Option<&Path>) -> &mut Self {
        match path {
            Some(path) if path == Path::new("-") => self.stdin += 1,
            Some(path) => self.files.push(path.to_path_buf()),
            None => {}
        }
        self
    }

    /// Refuses, before anything is read, standard input named for two inputs.
    pub fn check_stdin(&self) -> Result<(), Failure> {
        if self.stdin > 1 {
            return Err(stdin_twice());
        }
        Ok(())
    }
}

fn stdin_twice() -> Failure {
    Failure::plain(
        Diagnostic::new("standard input (`-`) is given twice")
            .with_help("standard input can be read once; give the other as a file"),
    )
}

//! Writing results so that no file is ever lost: a refusal to write over an input, atomic
//! replacement of the target, and write errors on standard output reported (a closed pipe
//! excepted).
//!
//! A file is written to a temporary file beside the target and renamed over it only once every
//! byte is on disk, so a full disk or a crash leaves the old content whole. The writer that fills
//! the temporary file can be wrapped ([`write_file_through`]), which lets a test make it fail
//! midway. This module depends on the standard library, `tempfile` and `same-file` alone.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Why the result could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// `-o` names a file that is also read (the same file through any path or link).
    OutputIsInput { output: PathBuf, input: PathBuf },
    /// The file could not be created, written or moved into place.
    File { path: PathBuf, error: io::Error },
    /// Standard output refused the text (a full disk, a closed file); a closed pipe is fine.
    Stdout(io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::OutputIsInput { output, input } if output == input => write!(
                f,
                "the output `{}` is also an input; writing it would destroy the input",
                output.display()
            ),
            WriteError::OutputIsInput { output, input } => write!(
                f,
                "the output `{}` is the same file as the input `{}`; writing it would destroy \
                 the input",
                output.display(),
                input.display()
            ),
            WriteError::File { path, error } => {
                write!(f, "cannot write `{}`: {error}", path.display())
            }
            WriteError::Stdout(error) => write!(f, "cannot write to standard output: {error}"),
        }
    }
}

/// Refuses an output that is the same file as one of the inputs: compared by file identity
/// (device and inode), so a different spelling, a symbolic link or a hard link all count. An
/// output that does not exist yet cannot be an input.
pub fn refuse_overwriting_inputs(output: &Path, inputs: &[PathBuf]) -> Result<(), WriteError> {
    for input in inputs {
        if same_file::is_same_file(output, input).unwrap_or(false) {
            return Err(WriteError::OutputIsInput {
                output: output.to_path_buf(),
                input: input.clone(),
            });
        }
    }
    Ok(())
}

/// Writes `bytes` to `target` atomically.
pub fn write_file(target: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_file_through(target, bytes, |file| Box::new(file))
}

/// Writes `bytes` through `wrap(temporary file)`, then renames the temporary file over
/// `target`. On any error the temporary file is removed and `target` is untouched.
pub fn write_file_through<F>(target: &Path, bytes: &[u8], wrap: F) -> Result<(), WriteError>
where
    F: for<'f> FnOnce(&'f mut File) -> Box<dyn Write + 'f>,
{
    // Writing through a symbolic link replaces the file it points to, not the link.
    let target = match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf())
        }
        _ => target.to_path_buf(),
    };
    let failed = |error: io::Error| WriteError::File {
        path: target.clone(),
        error,
    };
    let directory = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let prefix = format!(
        ".{}.",
        target
            .file_name()
            .map_or("output".into(), |n| n.to_string_lossy())
    );
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        // A new file gets the usual permissions (the umask applies), not tempfile's 0600.
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let mut temporary = builder.tempfile_in(&directory).map_err(failed)?;
    if let Ok(meta) = std::fs::metadata(&target) {
        // Replacing a file keeps its permissions.
        temporary
            .as_file()
            .set_permissions(meta.permissions())
            .map_err(failed)?;
    }
    {
        let mut writer = wrap(temporary.as_file_mut());
        writer.write_all(bytes).map_err(failed)?;
        writer.flush().map_err(failed)?;
    }
    temporary.as_file().sync_all().map_err(failed)?;
    temporary.persist(&target).map_err(|e| failed(e.error))?;
    Ok(())
}

/// Writes `bytes` to standard output. A reader that went away (`| head`) is not an error:
/// Rust ignores SIGPIPE, so the write returns `BrokenPipe`, which ends the output quietly.
pub fn write_stdout(bytes: &[u8]) -> Result<(), WriteError> {
    write_to(&mut io::stdout().lock(), bytes)
}

/// Writes `bytes` to a stream standing for standard output (see [`write_stdout`]).
pub fn write_to(stream: &mut dyn Write, bytes: &[u8]) -> Result<(), WriteError> {
    match stream.write_all(bytes).and_then(|()| stream.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(WriteError::Stdout(e)),
        Ok(()) => Ok(()),
    }
}

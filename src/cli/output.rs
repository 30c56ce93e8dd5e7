//! Writing results so that no file is ever lost: a refusal to write over an input (a file named
//! on the command line or the one standard input reads), atomic replacement of a regular file,
//! direct writes to what is not one (a device, a FIFO, `/dev/stdout`), and write errors on
//! standard output reported (a closed pipe excepted).
//!
//! A regular file is written to a temporary file beside it and renamed over it only once every
//! byte is on disk, so a full disk or a crash leaves the old content whole; the replacement
//! keeps the old file's owner and mode, and a read-only file is replaced only when the user says
//! so. A symbolic link is followed to the file it names, which is replaced; the link stays. A
//! device, a FIFO or a socket cannot be replaced without destroying it, so it is opened and
//! written as a shell's `>` would, and `/dev/stdout`, `/dev/stderr` and `/dev/fd/N` write to that
//! descriptor. The temporary file in flight is registered, so that a signal or an exhausted
//! memory ends the run without leaving it behind ([`abandon_temporary`],
//! [`remove_temporary_now`]). The writer that fills the temporary file can be wrapped
//! ([`write_file_through`]), which lets a test make it fail midway. This module depends on the
//! standard library, `libc`, `tempfile` and `same-file` alone.

use std::ffi::CString;
use std::fs::{File, Metadata};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// What to do with a target the user may not write (no write permission).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReadOnly {
    /// Refuse, and say that `--force` replaces it.
    Refuse,
    /// Replace it anyway (`--force`), as a rename in a writable directory can.
    Replace,
}

/// Why the result could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// `-o` names a file that is also read (the same file through any path or link).
    OutputIsInput { output: PathBuf, input: PathBuf },
    /// `-o` names the file that standard input reads (`FILE`, `--values` or `--claims` is `-`).
    OutputIsStdin { output: PathBuf },
    /// `-o` names a file the user may not write; `--force` replaces it.
    ReadOnly {
        path: PathBuf,
        mode: u32,
        owner: u32,
    },
    /// Replacing the file would change its owner, which only the superuser can keep.
    Owner { path: PathBuf, owner: u32 },
    /// The directory of the output does not exist.
    NoDirectory { path: PathBuf, directory: PathBuf },
    /// The file could not be created, written or moved into place.
    File { path: PathBuf, error: io::Error },
    /// Standard output refused the text (a full disk, a closed file); a closed pipe is fine.
    Stdout(io::Error),
}

/// A path as a report shows it: control and invisible characters spelled as `<U+…>`, so a file
/// name cannot move the cursor or retitle the terminal.
pub fn shown(path: &Path) -> String {
    chainrule::visible_name(&path.to_string_lossy())
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::OutputIsInput { output, input } if output == input => write!(
                f,
                "the output `{}` is also an input; writing it would destroy the input",
                shown(output)
            ),
            WriteError::OutputIsInput { output, input } => write!(
                f,
                "the output `{}` is the same file as the input `{}`; writing it would destroy \
                 the input",
                shown(output),
                shown(input)
            ),
            WriteError::OutputIsStdin { output } => write!(
                f,
                "the output `{}` is the file standard input reads; writing it would destroy the \
                 input",
                shown(output)
            ),
            WriteError::ReadOnly { path, mode, .. } if mode & 0o222 == 0 => write!(
                f,
                "the output `{}` is read-only (mode {:04o}); chainrule does not replace it \
                 unless told to",
                shown(path),
                mode & 0o7777
            ),
            WriteError::ReadOnly { path, mode, owner } => write!(
                f,
                "the output `{}` is not yours to write (mode {:04o}, owner uid {owner}); \
                 chainrule does not replace it unless told to",
                shown(path),
                mode & 0o7777
            ),
            WriteError::Owner { path, owner } => write!(
                f,
                "the output `{}` belongs to another user (uid {owner}); replacing it would make \
                 it yours",
                shown(path)
            ),
            WriteError::NoDirectory { path, directory } => write!(
                f,
                "cannot write `{}`: the directory `{}` does not exist",
                shown(path),
                shown(directory)
            ),
            WriteError::File { path, error } => {
                write!(f, "cannot write `{}`: {error}", shown(path))
            }
            WriteError::Stdout(error) => write!(f, "cannot write to standard output: {error}"),
        }
    }
}

/// The identity of a file (device and inode), from metadata that follows links; none for a
/// path that does not exist. Nothing is opened, so a FIFO does not block.
fn identity(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// Refuses an output that is the same regular file as one of the inputs: compared by file
/// identity (device and inode), so a different spelling, a symbolic link or a hard link all
/// count, and when `reads_stdin`, the file standard input reads (`< FILE`) too. An output that
/// does not exist yet cannot be an input; a device or a FIFO is not destroyed by writing it (a
/// terminal can be both standard input and `-o /dev/stdout`).
pub fn refuse_overwriting_inputs(
    output: &Path,
    inputs: &[PathBuf],
    reads_stdin: bool,
) -> Result<(), WriteError> {
    let Ok(target) = std::fs::metadata(output) else {
        return Ok(());
    };
    if !target.is_file() {
        return Ok(());
    }
    for input in inputs {
        if std::fs::metadata(input).is_ok_and(|meta| identity(&meta) == identity(&target)) {
            return Err(WriteError::OutputIsInput {
                output: output.to_path_buf(),
                input: input.clone(),
            });
        }
    }
    if reads_stdin {
        let stdin = same_file::Handle::stdin().and_then(|h| h.as_file().metadata());
        if stdin.is_ok_and(|meta| identity(&meta) == identity(&target)) {
            return Err(WriteError::OutputIsStdin {
                output: output.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Where the bytes for a `-o` path go.
enum Destination {
    /// A descriptor the process already has (`/dev/stdout` is 1, `/dev/fd/N` is N).
    Descriptor(i32),
    /// Not a regular file (a device, a FIFO, a socket): opened and written in place.
    InPlace(PathBuf),
    /// A regular file, or none yet: replaced atomically.
    Replaced(PathBuf),
}

/// The descriptor a path stands for, if it is one of the names of an open descriptor.
fn descriptor_alias(path: &Path) -> Option<i32> {
    let text = path.to_str()?;
    match text {
        "/dev/stdin" => Some(0),
        "/dev/stdout" => Some(1),
        "/dev/stderr" => Some(2),
        _ => ["/dev/fd/", "/proc/self/fd/", "/proc/thread-self/fd/"]
            .iter()
            .find_map(|prefix| text.strip_prefix(prefix))
            .and_then(|n| n.parse().ok()),
    }
}

/// Follows `target` through its symbolic links (a dangling one to the file it would create) to
/// where the bytes go.
fn destination(target: &Path) -> Destination {
    let mut path = target.to_path_buf();
    // As many hops as the kernel follows before it gives up with ELOOP.
    for _ in 0..40 {
        if let Some(fd) = descriptor_alias(&path) {
            return Destination::Descriptor(fd);
        }
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => match std::fs::read_link(&path) {
                Ok(link) => {
                    path = match path.parent() {
                        Some(dir) if link.is_relative() => dir.join(link),
                        _ => link,
                    };
                }
                Err(_) => break,
            },
            Ok(meta) if !meta.is_file() => return Destination::InPlace(path),
            _ => return Destination::Replaced(path),
        }
    }
    // A loop of links: opening it reports the loop as the shell would.
    Destination::InPlace(path)
}

/// Refuses, before anything is read, a regular file the user may not write, unless `read_only`
/// says to replace it. The superuser may write anything, so for it a file with no write
/// permission for anyone (`chmod 444`) counts as read-only.
pub fn check_target(target: &Path, read_only: ReadOnly) -> Result<(), WriteError> {
    let Destination::Replaced(path) = destination(target) else {
        return Ok(());
    };
    let Ok(meta) = std::fs::metadata(&path) else {
        return Ok(());
    };
    if read_only == ReadOnly::Replace {
        return Ok(());
    }
    // Opening for writing without truncating changes nothing, and asks the kernel the exact
    // question (ACLs and groups included).
    let refused = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .is_err_and(|e| e.kind() == io::ErrorKind::PermissionDenied);
    if meta.permissions().readonly() || refused {
        return Err(WriteError::ReadOnly {
            path: target.to_path_buf(),
            mode: meta.mode(),
            owner: meta.uid(),
        });
    }
    Ok(())
}

/// Writes `bytes` to `target` (see the module's description).
pub fn write_file(target: &Path, bytes: &[u8], read_only: ReadOnly) -> Result<(), WriteError> {
    write_file_through(target, bytes, read_only, |file| Box::new(file))
}

/// Writes `bytes` to `target`; a regular file through `wrap(temporary file)`, renamed over
/// `target` at the end. On any error the temporary file is removed and `target` is untouched.
pub fn write_file_through<F>(
    target: &Path,
    bytes: &[u8],
    read_only: ReadOnly,
    wrap: F,
) -> Result<(), WriteError>
where
    F: for<'f> FnOnce(&'f mut File) -> Box<dyn Write + 'f>,
{
    check_target(target, read_only)?;
    match destination(target) {
        Destination::Descriptor(1) => write_stdout(bytes),
        Destination::Descriptor(2) => write_to(&mut io::stderr().lock(), bytes),
        Destination::Descriptor(_) => write_in_place(target, bytes),
        Destination::InPlace(path) => write_in_place(&path, bytes),
        Destination::Replaced(path) => replace(&path, bytes, read_only, wrap),
    }
}

/// Opens `path` for writing, as a shell's `>` does, and writes `bytes`.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let failed = |error: io::Error| WriteError::File {
        path: path.to_path_buf(),
        error,
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.flush().map_err(failed)
}

/// The temporary file being written, if any, as a C string so that it can be removed with no
/// allocation (when memory has run out).
static TEMPORARY: Mutex<Option<CString>> = Mutex::new(None);

fn temporary_slot() -> MutexGuard<'static, Option<CString>> {
    TEMPORARY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Removes the temporary file being written, if any, and keeps it from being renamed into
/// place for as long as the returned guard is held: for a signal that ends the run.
pub fn abandon_temporary() -> MutexGuard<'static, Option<CString>> {
    let mut slot = temporary_slot();
    if let Some(path) = slot.take() {
        // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
        unsafe { libc::unlink(path.as_ptr()) };
    }
    slot
}

/// Removes the temporary file being written, if any, without allocating or waiting: for the
/// allocator, which ends the run when memory is exhausted. When the slot is busy (the temporary
/// file is being created or renamed at that moment) nothing is done.
pub fn remove_temporary_now() {
    let slot = match TEMPORARY.try_lock() {
        Ok(slot) => slot,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return,
    };
    if let Some(path) = slot.as_ref() {
        // SAFETY: `path` is a valid NUL-terminated string that outlives the call.
        unsafe { libc::unlink(path.as_ptr()) };
    }
}

/// Clears the registered temporary file when the write ends, however it ends.
struct Registered;

impl Drop for Registered {
    fn drop(&mut self) {
        *temporary_slot() = None;
    }
}

/// Writes a temporary file beside `target`, with the old file's owner and mode, and renames it
/// over `target`.
fn replace<F>(target: &Path, bytes: &[u8], read_only: ReadOnly, wrap: F) -> Result<(), WriteError>
where
    F: for<'f> FnOnce(&'f mut File) -> Box<dyn Write + 'f>,
{
    let failed = |error: io::Error| WriteError::File {
        path: target.to_path_buf(),
        error,
    };
    let directory = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !directory.is_dir() {
        return Err(WriteError::NoDirectory {
            path: target.to_path_buf(),
            directory,
        });
    }
    let prefix = format!(
        ".{}.",
        target
            .file_name()
            .map_or("output".into(), |n| n.to_string_lossy())
    );
    let mut builder = tempfile::Builder::new();
    // A new file gets the usual permissions (the umask applies), not tempfile's 0600.
    builder
        .prefix(&prefix)
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o666));
    let mut temporary = {
        let mut slot = temporary_slot();
        // tempfile names the temporary path in its errors; the user named only the target.
        let temporary = builder
            .tempfile_in(&directory)
            .map_err(|e| failed(without_path(e)))?;
        *slot = CString::new(temporary.path().as_os_str().as_bytes()).ok();
        temporary
    };
    let _registered = Registered;
    if let Ok(old) = std::fs::metadata(target) {
        keep_owner(temporary.as_file(), &old, target, read_only)?;
        // After the owner: changing the owner clears the set-user-ID and set-group-ID bits.
        temporary
            .as_file()
            .set_permissions(old.permissions())
            .map_err(failed)?;
    }
    {
        let mut writer = wrap(temporary.as_file_mut());
        writer.write_all(bytes).map_err(failed)?;
        writer.flush().map_err(failed)?;
    }
    temporary.as_file().sync_all().map_err(failed)?;
    // Renamed under the lock, so that a signal either finds the temporary file to remove or
    // finds it already in place.
    let mut slot = temporary_slot();
    temporary
        .persist(target)
        .map_err(|e| failed(without_path(e.error)))?;
    *slot = None;
    Ok(())
}

/// Gives the temporary file the owner and group of the file it replaces. Only the superuser
/// may give a file away; anyone else keeps their own file's owner and is refused another's
/// (unless `--force`). A group the user is not in is left as it comes, as an editor would.
fn keep_owner(
    temporary: &File,
    old: &Metadata,
    target: &Path,
    read_only: ReadOnly,
) -> Result<(), WriteError> {
    let Ok(new) = temporary.metadata() else {
        return Ok(());
    };
    if (new.uid(), new.gid()) == (old.uid(), old.gid()) {
        return Ok(());
    }
    if std::os::unix::fs::fchown(temporary, Some(old.uid()), Some(old.gid())).is_err() {
        let _ = std::os::unix::fs::fchown(temporary, None, Some(old.gid()));
        if new.uid() != old.uid() && read_only == ReadOnly::Refuse {
            return Err(WriteError::Owner {
                path: target.to_path_buf(),
                owner: old.uid(),
            });
        }
    }
    Ok(())
}

/// The error beneath tempfile's wrapper, which names the temporary path.
fn without_path(error: io::Error) -> io::Error {
    let inner = error
        .get_ref()
        .and_then(|e| e.source())
        .and_then(|e| e.downcast_ref::<io::Error>());
    match inner {
        Some(inner) => match inner.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(inner.kind(), inner.to_string()),
        },
        None => error,
    }
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

/// What a command produced: the text, where it goes, and the exit code once it is written
/// (1 when `check` found a claim that is not correct).
pub struct Outcome {
    pub text: String,
    pub out: Option<PathBuf>,
    /// Whether `--force` lets a read-only `out` be replaced.
    pub read_only: ReadOnly,
    pub code: u8,
}

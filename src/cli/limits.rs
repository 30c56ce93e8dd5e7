//! The program's limits on memory and on a user's templates: what no input may take.
//!
//! The library bounds what it can see (the size of a program, of an expansion, of a
//! document), but two things escape it: an allocation pattern nobody predicted, and a user's
//! template whose loops run on without writing anything, or double a string until memory is
//! gone. The first is caught by the global allocator, which refuses the run once the heap
//! passes [`MEMORY_LIMIT`]; the second by a watchdog on the main thread, which refuses a user's
//! template that renders for longer than [`TEMPLATE_SECONDS`]. Either way the run ends with a
//! clear message and exit code 2 before anything is written, as for any other bad input. A
//! limit set outside (`ulimit -v`) is met the same way: the worker's stack shrinks to fit it,
//! and memory the system refuses ends the run with a message and exit code 2, not an abort.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicIsize, AtomicU8, Ordering};
use std::time::Duration;

use chainrule::Diagnostic;
use chainrule::TemplateWatch;

/// The most heap the program may hold. The largest built-in jobs (784-30-10 derived with
/// every step, or evaluated with every gradient) stay under 300 MB.
pub const MEMORY_LIMIT: usize = 2 << 30;

/// How long a user's template may render. The built-in templates lay out the largest
/// network's derivation in about a second.
pub const TEMPLATE_SECONDS: u64 = 30;

/// The system allocator, counting the bytes held and refusing the run past [`MEMORY_LIMIT`].
pub struct Bounded;

static HELD: AtomicIsize = AtomicIsize::new(0);

thread_local! {
    // Bytes this thread took (or gave back) since it last added them to HELD: most
    // allocations then touch no shared counter, where one atomic add each cost about a tenth
    // of a large derivation. HELD is off by at most SETTLE_BYTES a thread, and signed, since
    // a thread may give back what another took before that one settled.
    static UNSETTLED: Cell<isize> = const { Cell::new(0) };
}

/// How far a thread's count may drift before it is added to [`HELD`].
const SETTLE_BYTES: isize = 1 << 20;

// The message is made of constants: the allocator may not allocate to say it has run out.
const OUT_OF_MEMORY: &[u8] = b"error: this needs more than 2 GiB of memory; chainrule stops here \
rather than exhaust the machine\n = help: ";
const TEMPLATES: &[u8] =
    b", or, with `--template-dir`, check the templates for a string that keeps growing\n";

/// What the command being run can do to need less memory, said when it runs out: each
/// suggests only options that command has.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Advice {
    /// `derive` and `eval`, which take `--wrt`.
    FewerNames,
    Check,
    Step,
    Train,
    Graph,
    /// A command without templates or a choice of names (`values`, `expand`).
    SmallerProgram,
}

impl Advice {
    const ALL: [Advice; 6] = [
        Advice::FewerNames,
        Advice::Check,
        Advice::Step,
        Advice::Train,
        Advice::Graph,
        Advice::SmallerProgram,
    ];

    fn words(self) -> (&'static [u8], bool) {
        match self {
            Advice::FewerNames => (b"derive or evaluate fewer names at once (`--wrt`)", true),
            Advice::Check => (b"check fewer claims at once, on a smaller network", true),
            Advice::Step => (b"take fewer steps at once (`--steps`)", true),
            Advice::Train => (b"train on fewer rows or for fewer epochs", true),
            Advice::Graph => (b"draw a smaller network", true),
            Advice::SmallerProgram => (b"give a smaller program\n", false),
        }
    }
}

static ADVICE: AtomicU8 = AtomicU8::new(Advice::SmallerProgram as u8);

/// Sets what the out-of-memory message suggests, once the command is known.
pub fn advise(advice: Advice) {
    ADVICE.store(advice as u8, Ordering::Relaxed);
}

/// The out-of-memory message for the command being run.
pub fn out_of_memory_message() -> [&'static [u8]; 3] {
    let current = ADVICE.load(Ordering::Relaxed);
    let advice = Advice::ALL
        .into_iter()
        .find(|a| *a as u8 == current)
        .unwrap_or(Advice::SmallerProgram);
    let (words, templates) = advice.words();
    [
        OUT_OF_MEMORY,
        words,
        if templates { TEMPLATES } else { b"" },
    ]
}

// The system's refusal, under a limit set outside (`ulimit -v`, a container's cap).
const REFUSED: &[u8] = b"error: the system refused chainrule more memory (a limit such as \
`ulimit -v` is reached); chainrule stops here\n = help: raise the limit, or derive or evaluate \
less at once\n";

impl Bounded {
    fn take(size: usize) {
        Self::count(isize::try_from(size).unwrap_or(isize::MAX));
    }

    fn give_back(size: usize) {
        Self::count(-isize::try_from(size).unwrap_or(isize::MAX));
    }

    fn count(bytes: isize) {
        let due = UNSETTLED.try_with(|unsettled| {
            let total = unsettled.get().saturating_add(bytes);
            if total.abs() < SETTLE_BYTES {
                unsettled.set(total);
                0
            } else {
                unsettled.set(0);
                total
            }
        });
        // A thread whose locals are gone settles each allocation at once.
        let due = due.unwrap_or(bytes);
        if due != 0 {
            let held = HELD.fetch_add(due, Ordering::Relaxed).saturating_add(due);
            if due > 0 && held > MEMORY_LIMIT as isize {
                stop(&out_of_memory_message());
            }
        }
    }

    /// The system allocator's answer, or the end of the run when it has none.
    fn given(ptr: *mut u8) -> *mut u8 {
        if ptr.is_null() {
            stop(&[REFUSED]);
        }
        ptr
    }
}

/// Ends the run with exit code 2 and `message`, allocating nothing: the temporary file of an
/// output being written is removed, and `_exit` skips the handlers that might allocate.
fn stop(message: &[&[u8]]) -> ! {
    for part in message {
        let _ = std::io::stderr().write_all(part);
    }
    super::output::remove_temporary_now();
    // SAFETY: `_exit` ends the process at once; nothing of it is used after.
    unsafe { libc::_exit(2) }
}

// SAFETY: every call is passed to the system allocator unchanged; only a count is kept.
unsafe impl GlobalAlloc for Bounded {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::take(layout.size());
        // SAFETY: the caller's contract is the system allocator's.
        Self::given(unsafe { System.alloc(layout) })
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::take(layout.size());
        // SAFETY: as above.
        Self::given(unsafe { System.alloc_zeroed(layout) })
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        Self::give_back(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            Self::take(new_size - layout.size());
        } else {
            Self::give_back(layout.size() - new_size);
        }
        // SAFETY: as above.
        Self::given(unsafe { System.realloc(ptr, layout, new_size) })
    }
}

/// How often the watchdog looks at the template being rendered.
pub const WATCH_INTERVAL: Duration = Duration::from_millis(100);

/// The watch every layout of this run reports its user's templates on (the library keeps no
/// state of its own: the binary, which runs one command, holds it here).
pub static TEMPLATE_WATCH: LazyLock<TemplateWatch> = LazyLock::new(TemplateWatch::default);

/// The refusal for a user's template that has rendered for too long, if one has.
pub fn overdue_template() -> Option<Diagnostic> {
    let (started, template) = TEMPLATE_WATCH.rendering()?;
    (started.elapsed() > Duration::from_secs(TEMPLATE_SECONDS)).then(|| {
        Diagnostic::new(format!(
            "the template `{template}` rendered for more than {TEMPLATE_SECONDS} s; \
             a loop in it runs on"
        ))
        .with_help("check the template's `for` loops and `range` bounds")
    })
}

/// The worker's stack when nothing limits the address space: deep but legal programs (long
/// chains of names) recurse.
const WORKER_STACK: usize = 512 << 20;

/// The smallest stack tried before the work runs on the main thread.
const SMALLEST_STACK: usize = 8 << 20;

/// The stack the worker asks for: [`WORKER_STACK`], or a quarter of the address space a limit
/// (`ulimit -v`, `ulimit -d`) leaves, so the heap keeps the rest.
fn worker_stack() -> usize {
    let mut room = usize::MAX;
    for resource in [libc::RLIMIT_AS, libc::RLIMIT_DATA] {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `limit` is a valid place for the answer.
        if unsafe { libc::getrlimit(resource, &mut limit) } == 0
            && limit.rlim_cur != libc::RLIM_INFINITY
        {
            room = room.min(usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX));
        }
    }
    (room / 4).clamp(SMALLEST_STACK, WORKER_STACK)
}

/// Runs `work(command)` on a thread with a roomy stack, halving the stack while the system
/// refuses it; when no thread can be had at all, runs it here and returns `None`.
pub fn spawn_worker<C, W>(command: C, work: W) -> Option<std::thread::JoinHandle<()>>
where
    C: Send + 'static,
    W: FnOnce(C) + Send + 'static,
{
    // Shared so that a refused spawn does not lose the work.
    let job = std::sync::Arc::new(std::sync::Mutex::new(Some((command, work))));
    let mut stack = worker_stack();
    loop {
        let mine = job.clone();
        let spawned = std::thread::Builder::new()
            .stack_size(stack)
            .spawn(move || {
                let taken = mine.lock().ok().and_then(|mut job| job.take());
                if let Some((command, work)) = taken {
                    work(command);
                }
            });
        match spawned {
            Ok(handle) => return Some(handle),
            Err(_) if stack > SMALLEST_STACK => stack /= 2,
            Err(_) => break,
        }
    }
    let taken = job.lock().ok().and_then(|mut job| job.take());
    if let Some((command, work)) = taken {
        work(command);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 23: the message suggested `--wrt` to commands that do not have it.
    #[test]
    fn the_out_of_memory_help_names_only_options_the_command_has() {
        let said = |advice: Advice| {
            advise(advice);
            String::from_utf8(out_of_memory_message().concat()).unwrap()
        };
        assert!(said(Advice::FewerNames).contains("`--wrt`"));
        for advice in [Advice::Check, Advice::Step, Advice::Train, Advice::Graph] {
            let text = said(advice);
            assert!(!text.contains("--wrt"), "{text}");
            assert!(text.contains("`--template-dir`"), "{text}");
        }
        assert!(said(Advice::Step).contains("`--steps`"));
        let plain = said(Advice::SmallerProgram);
        assert!(
            !plain.contains("--wrt") && !plain.contains("--template-dir"),
            "{plain}"
        );
        assert!(plain.ends_with('\n'), "{plain}");
    }
}

//! The end of a run by a signal (SIGTERM, SIGINT, SIGHUP): the temporary file of an output being
//! written is removed first, then the signal takes its usual effect, so the process still ends
//! as killed by that signal and no hidden `.NAME.XXXXXX.tmp` stays beside the target.

use super::output;

/// Watches for the signals on a thread of its own. When no thread can be had, the signals keep
/// their usual effect (the temporary file may then stay, as before).
pub fn remove_temporary_on_signals() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    // The handlers are installed by the watching thread itself, so that they are never
    // installed with nobody to act on them (which would make the signals ignored).
    let _ = std::thread::Builder::new()
        .name("signals".into())
        .stack_size(256 << 10)
        .spawn(|| {
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])
            else {
                return;
            };
            if let Some(signal) = signals.forever().next() {
                // Held until the process ends, so the writer cannot rename the file into place.
                let _slot = output::abandon_temporary();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        });
}

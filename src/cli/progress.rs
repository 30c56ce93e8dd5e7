//! A spinner on standard error for work that takes more than a second on a terminal.

use std::io::IsTerminal;

/// Runs `work`; when it takes more than a second and standard error is a terminal, a spinner
/// with `message` says it is still going (and is cleared at the end).
pub fn with_progress<T>(message: &str, work: impl FnOnce() -> T) -> T {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    if !std::io::stderr().is_terminal() {
        return work();
    }
    let done = Arc::new(AtomicBool::new(false));
    let spinner = {
        let done = done.clone();
        let message = message.to_string();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(1) {
                if done.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message(message);
            bar.enable_steady_tick(Duration::from_millis(100));
            while !done.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
            bar.finish_and_clear();
        })
    };
    let out = work();
    done.store(true, Ordering::Relaxed);
    let _ = spinner.join();
    out
}

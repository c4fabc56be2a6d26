//! Progress indication for long operations: drawn on standard error only
//! when it is a terminal, never with `--json`.

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::Duration;

/// Files at least this large get a spinner while they are verified.
const LARGE_FILE_BYTES: u64 = 16 << 20;

/// Whether progress may be drawn at all.
pub fn allowed(json: bool) -> bool {
    !json && std::io::stderr().is_terminal()
}

/// A spinner with `message` while a large file at `path` is
/// processed (≥ 16 MiB); `None` for small files, under `--json`, or when standard
/// error is not a terminal. Finish it with [`finish`].
pub fn spinner_for_file(path: &Path, json: bool, message: &str) -> Option<indicatif::ProgressBar> {
    if !allowed(json) {
        return None;
    }
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len < LARGE_FILE_BYTES {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(format!("{message} {} ({} MiB)", path.display(), len >> 20));
    bar.enable_steady_tick(Duration::from_millis(120));
    Some(bar)
}

/// Clears a spinner from [`spinner_for_file`].
pub fn finish(bar: Option<indicatif::ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

//! `signal=` values: what a person types for a signal, turned into the name events carry.

use crate::model::names::{signal_label, signal_name};

/// The highest signal Linux delivers (`_NSIG - 1`).
const MAX_SIGNAL: i64 = 64;

/// `SIGKILL`, `kill` and `9` all name what an event killed by signal 9 carries, `SIGKILL`;
/// a real-time signal is `SIG<n>` (`SIG40` or `40`). An `Err` is the message for the value.
pub(super) fn canonical_signal(text: &str) -> Result<String, String> {
    let upper = text.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    if !bare.is_empty() && bare.bytes().all(|b| b.is_ascii_digit()) {
        return match bare.parse::<i64>() {
            Ok(n) if (1..=MAX_SIGNAL).contains(&n) => Ok(signal_label(n as i32).into_owned()),
            _ => Err(format!(
                "`signal` must be from 1 to {MAX_SIGNAL}, not {text}"
            )),
        };
    }
    let name = format!("SIG{bare}");
    if (1..=MAX_SIGNAL as i32).any(|n| signal_name(n) == Some(name.as_str())) {
        Ok(name)
    } else {
        Err(format!(
            "unknown signal `{text}` (such as SIGKILL, SIGTERM, SIGSEGV, or a number)"
        ))
    }
}

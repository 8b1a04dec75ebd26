//! Event times as RFC 3339 UTC with nine fraction digits, for every JSON line.
//!
//! Formatting a date is most of the cost of a time stamp, and events come thousands per
//! second: the text up to the second is kept and reused while the second stays the same.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::short_text::ShortText;

/// Room for `YYYY-MM-DDTHH:MM:SS.NNNNNNNNNZ` up to the year 9999 (humantime's limit).
pub type TimeText = ShortText<40>;

/// `2026-12-02T01:00:53.349573228Z`, built on the stack.
pub fn rfc3339_nanos(time: SystemTime) -> TimeText {
    let mut out = TimeText::new();
    let Ok(since_epoch) = time.duration_since(UNIX_EPOCH) else {
        // Before 1970: never from the kernel's clock; formatted as before.
        out.push(&humantime::format_rfc3339_nanos(time).to_string());
        return out;
    };
    let second = since_epoch.as_secs();
    LAST_SECOND.with_borrow_mut(|(cached, prefix)| {
        if *cached != Some(second) {
            let whole = UNIX_EPOCH + std::time::Duration::from_secs(second);
            // `YYYY-MM-DDTHH:MM:SS`, without the `Z`.
            let text = humantime::format_rfc3339_seconds(whole).to_string();
            *prefix = text.trim_end_matches('Z').to_owned();
            *cached = Some(second);
        }
        out.push(prefix);
    });
    out.push(".");
    out.push_number(u64::from(since_epoch.subsec_nanos()), 10, 9);
    out.push("Z");
    out
}

thread_local! {
    /// The last second formatted, and its text.
    static LAST_SECOND: RefCell<(Option<u64>, String)> = const { RefCell::new((None, String::new())) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn matches_a_full_format_across_seconds_and_dates() {
        let times = [
            UNIX_EPOCH,
            UNIX_EPOCH + Duration::new(1_796_173_253, 349_573_228),
            UNIX_EPOCH + Duration::new(1_796_173_253, 999_999_999),
            UNIX_EPOCH + Duration::new(1_796_173_254, 7),
            UNIX_EPOCH + Duration::new(1_796_173_253, 0),
            // 2024-02-29T23:59:59, then the next day.
            UNIX_EPOCH + Duration::new(1_709_251_199, 5),
            UNIX_EPOCH + Duration::new(1_709_251_200, 5),
        ];
        for time in times {
            assert_eq!(
                rfc3339_nanos(time).as_str(),
                humantime::format_rfc3339_nanos(time).to_string(),
                "{time:?}"
            );
        }
    }
}

//! Kernel text made safe to show: the summary line of each kind and the panes use it.
//!
//! Strings from the kernel are attacker-controlled: a process can name itself or pass argv with
//! terminal escape sequences. Nothing reaches the terminal raw: control characters and invalid
//! UTF-8 are shown escaped.

use std::borrow::Cow;

/// Printable text for `bytes`: `\e`, `\n`, `\t`, `\xNN` for control and invalid bytes.
pub fn printable(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(needs_escape) => Cow::Borrowed(text),
        _ => Cow::Owned(escape(bytes)),
    }
}

fn needs_escape(c: char) -> bool {
    c.is_control() || c == '\u{FFFD}'
}

fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\x1b' => out.push_str("\\e"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => {
                    let mut buf = [0; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_bytes_are_escaped() {
        let cases: &[(&[u8], &str)] = &[
            (b"bash", "bash"),
            (b"\x1b[2Jclear", "\\e[2Jclear"),
            (b"a\nb\tc\r", "a\\nb\\tc\\r"),
            (b"bell\x07", "bell\\x07"),
            (b"\xc2\x9b31m", "\\xc2\\x9b31m"), // C1 CSI
            (b"bad\xffutf8", "bad\\xffutf8"),
            ("caf\u{e9}".as_bytes(), "caf\u{e9}"),
        ];
        for (raw, shown) in cases {
            assert_eq!(printable(raw), *shown, "{raw:?}");
        }
    }
}

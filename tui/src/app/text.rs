//! An event as one line of text, which the Events pane shows and a search looks through.
//!
//! Strings from the kernel are attacker-controlled: a process can name itself or pass argv with
//! terminal escape sequences. Nothing reaches the terminal raw: control characters and invalid
//! UTF-8 are shown escaped.

use std::borrow::Cow;

use crate::model::Event;
use crate::model::event::Details;

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

/// The text a search and the summary column look at.
pub fn summary(event: &Event) -> String {
    match &event.details {
        Details::Exec { argv, filename, .. } => {
            if argv.is_empty() {
                printable(filename).into_owned()
            } else {
                let args: Vec<_> = argv.iter().map(|a| printable(a).into_owned()).collect();
                args.join(" ")
            }
        }
        Details::Open { path, .. } => printable(path).into_owned(),
        Details::Connect(sock) | Details::Accept(sock) => {
            let remote = sock.addrs.remote.map(|(ip, port)| endpoint(ip, port));
            let local = sock.addrs.local.map(|(ip, port)| endpoint(ip, port));
            match (&event.details, local, remote) {
                (Details::Connect(_), _, Some(remote)) => remote,
                (Details::Accept(_), Some(local), Some(remote)) => {
                    format!("{remote} -> {local}")
                }
                (_, local, remote) => remote.or(local).unwrap_or_default(),
            }
        }
        Details::TcpClose {
            addrs,
            duration_ns,
            tx_bytes,
            rx_bytes,
        } => {
            let remote = addrs
                .remote
                .map(|(ip, port)| endpoint(ip, port))
                .unwrap_or_default();
            let bytes = match (tx_bytes, rx_bytes) {
                (Some(tx), Some(rx)) => format!(" tx {tx} rx {rx}"),
                _ => String::new(),
            };
            format!("{remote} {:.1} ms{bytes}", *duration_ns as f64 / 1e6)
        }
        Details::Exit {
            status,
            lifetime_ns,
        } => {
            format!(
                "code {} after {:.1} ms",
                (status >> 8) & 0xff,
                *lifetime_ns as f64 / 1e6
            )
        }
        Details::Fork { child_pid, .. } => format!("child {child_pid}"),
    }
}

fn endpoint(ip: std::net::IpAddr, port: u16) -> String {
    match ip {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        std::net::IpAddr::V4(v4) => format!("{v4}:{port}"),
    }
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

//! Random text built from the grammar's tokens mixed with junk: the parser must answer every
//! input with a filter or a one-line error pointing inside (or just past) the text.

use std::collections::BTreeMap;

use super::support::{
    Rng, Tree, event, exec, exit, fork, kernel_admits, open, sock, tcp_close, v4_addrs, v6_addrs,
};
use crate::filter::Filter;
use crate::model::event::Details;

const PIECES: &[&str] = &[
    // Fields, some misspelt or cased.
    "pid",
    "ppid",
    "tree",
    "comm",
    "uid",
    "type",
    "path",
    "addr",
    "port",
    "ret",
    "error",
    "exit_code",
    "signal",
    "PID",
    "pdi",
    "Type",
    // Operators, whole and in pieces.
    "=",
    "!=",
    "~",
    "<",
    ">",
    "<=",
    ">=",
    "!",
    "==",
    "=<",
    "&",
    "|",
    // Combinators.
    "and",
    "or",
    "not",
    "AND",
    "&&",
    "||",
    "(",
    ")",
    "((",
    "))",
    // Values.
    "1",
    "0",
    "4242",
    "-1",
    "-2147483648",
    "4294967296",
    "99999999999999999999",
    "65536",
    "open",
    "exec",
    "network",
    "tcp_close",
    "opn",
    "ENOENT",
    "enoent",
    "E600",
    "EWOULDBLOCK",
    "SIGKILL",
    "kill",
    "SIG40",
    "10.0.0.0/8",
    "::1",
    "::ffff:10.0.0.0/104",
    "10.0.0.0/33",
    "1.2.3",
    "/etc/*.conf",
    "*",
    "?",
    "**",
    "a?b",
    "nginx",
    "systemd-journald",
    "\"quoted\"",
    "\"with \\\" quote\"",
    "\"back\\\\slash\"",
    "\"bad \\n escape\"",
    "\"unterminated",
    "\"",
    "\\",
    "\"\"",
    // Junk, including non-ASCII and control characters.
    "#",
    ",",
    ";",
    "$",
    "@",
    "+",
    "é",
    "日本",
    "🦀",
    "\u{301}",
    "\u{0}",
    "\u{7f}",
    "\u{fffd}",
    "\u{202e}",
    "\t",
    "\n",
    "\r",
    "Σ",
    "٣",
];

fn random_text(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(14) {
        if rng.one_in(12) {
            // Any character at all, now and then.
            let c = char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}');
            text.push(c);
        } else {
            text.push_str(rng.pick::<&str>(PIECES));
        }
        if rng.one_in(2) {
            text.push(' ');
        }
    }
    text
}

#[test]
fn no_input_panics() {
    let mut rng = Rng::new(0xf00d_cafe);
    let tree = Tree(
        (2..=8)
            .map(|pid| (pid, pid / 2))
            .collect::<BTreeMap<_, _>>(),
    );
    let events = [
        event(exec("/bin/ls", 0)),
        event(open("/etc/passwd", -2)),
        event(Details::Connect(sock(v4_addrs(), -111))),
        event(Details::Accept(sock(v6_addrs(), 4))),
        event(tcp_close(v4_addrs())),
        event(exit(9)),
        event(fork(7)),
    ];
    let (mut parsed, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let text = random_text(&mut rng);
        match Filter::parse(&text) {
            Ok(filter) => {
                parsed += 1;
                assert_eq!(filter.text(), text);
                let part = filter.kernel_part();
                for event in &events {
                    if filter.matches(event, &tree) {
                        assert!(kernel_admits(&part, event, &tree), "{text:?}: {part:?}");
                    }
                }
            }
            Err(error) => {
                rejected += 1;
                let chars = text.chars().count();
                assert!(
                    (1..=chars + 1).contains(&error.column),
                    "{text:?}: column {} of {chars}",
                    error.column
                );
                assert!(!error.message.is_empty(), "{text:?}");
                assert!(!error.to_string().contains('\n'), "{text:?}: {error}");
            }
        }
    }
    // Both paths were exercised.
    assert!(parsed > 500, "{parsed} parsed");
    assert!(rejected > 5_000, "{rejected} rejected");
}

//! Text comparisons for `comm`, `path`, `error` and `signal`: exact bytes for `=` (what the
//! kernel can compare too), and for `~` a substring or, when the value has `*` or `?`, a
//! shell-style glob.

use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TextPattern {
    /// `=` and `!=`: byte-for-byte, so a name that is not UTF-8 equals nothing typed.
    Exact(String),
    /// `~` without wildcards.
    Contains(String),
    /// `~` with `*` or `?`: anchored at both ends, like a shell glob.
    Glob(Glob),
}

impl TextPattern {
    /// The pattern for `~ value`.
    pub(super) fn matching(value: String) -> TextPattern {
        if value.contains(['*', '?']) {
            TextPattern::Glob(Glob(value.chars().collect()))
        } else {
            TextPattern::Contains(value)
        }
    }

    pub(super) fn matches(&self, text: &[u8]) -> bool {
        match self {
            TextPattern::Exact(value) => text == value.as_bytes(),
            TextPattern::Contains(needle) => lossy(text).contains(needle.as_str()),
            TextPattern::Glob(glob) => glob.matches(&lossy(text)),
        }
    }
}

/// Kernel strings are bytes; `~` works on their text with invalid bytes as U+FFFD.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// `*` is any run of characters (including `/`), `?` exactly one; there is no escaping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Glob(Vec<char>);

impl Glob {
    /// Iterative with one backtrack point, so it takes O(text × pattern) at worst and cannot
    /// overflow the stack whatever the user types.
    pub(super) fn matches(&self, text: &str) -> bool {
        let pattern = &self.0;
        let text: Vec<char> = text.chars().collect();
        let (mut p, mut t) = (0, 0);
        // After the last `*`: where in the pattern to resume, and the text it has swallowed to.
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match pattern.get(p) {
                Some('*') => {
                    star = Some((p + 1, t));
                    p += 1;
                }
                Some(&c) if c == '?' || c == text[t] => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((resume, swallowed)) => {
                        p = resume;
                        t = swallowed + 1;
                        star = Some((resume, swallowed + 1));
                    }
                    None => return false,
                },
            }
        }
        pattern[p..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything/at/all", true),
            ("?", "", false),
            ("?", "a", true),
            ("?", "é", true),
            ("?", "ab", false),
            ("/etc/*.conf", "/etc/resolv.conf", true),
            ("/etc/*.conf", "/etc/ssl/openssl.conf", true),
            ("/etc/*.conf", "/etc/resolv.conf.bak", false),
            ("/etc/*.conf", "x/etc/a.conf", false),
            ("ngin?", "nginx", true),
            ("ngin?", "nginxx", false),
            ("*x*", "abc", false),
            ("*x*", "abxc", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("**a**", "bab", true),
            ("", "", true),
            ("", "a", false),
        ];
        for &(pattern, text, expected) in cases {
            let glob = Glob(pattern.chars().collect());
            assert_eq!(glob.matches(text), expected, "{pattern:?} on {text:?}");
        }
    }

    #[test]
    fn a_pathological_glob_is_quick() {
        let glob = Glob("*a*a*a*a*a*a*a*a*b".chars().collect());
        assert!(!glob.matches(&"a".repeat(2000)));
    }

    #[test]
    fn patterns() {
        assert_eq!(
            TextPattern::matching("ssh".into()),
            TextPattern::Contains("ssh".into())
        );
        assert!(matches!(
            TextPattern::matching("ss?".into()),
            TextPattern::Glob(_)
        ));
        assert!(TextPattern::Exact("a".into()).matches(b"a"));
        assert!(!TextPattern::Exact("a".into()).matches(b"ab"));
        assert!(!TextPattern::Exact("\u{fffd}".into()).matches(b"\xff"));
        assert!(TextPattern::Contains("ssh".into()).matches(b"/usr/bin/sshd"));
        assert!(TextPattern::matching("*sh?".into()).matches(b"/usr/bin/sshd"));
        assert!(TextPattern::Contains("\u{fffd}".into()).matches(b"a\xffb"));
    }
}

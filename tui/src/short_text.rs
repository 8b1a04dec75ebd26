//! Text of bounded length built on the stack: the names and numbers that every JSON line
//! carries (its time, an open's flags and mode), made without an allocation or the `fmt`
//! machinery, which were a fifth of ringside's CPU per event.

/// Up to `N` bytes of ASCII. Pushing past `N` keeps what fits: callers size `N` for their
/// longest text, so it never happens.
pub struct ShortText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> ShortText<N> {
    pub fn new() -> Self {
        Self {
            bytes: [0; N],
            len: 0,
        }
    }

    /// Appends ASCII text (other text would not fit the type's promise; see [`Self::as_str`]).
    pub fn push(&mut self, text: &str) {
        debug_assert!(text.is_ascii(), "{text:?}");
        let fits = text.len().min(N - self.len);
        self.bytes[self.len..self.len + fits].copy_from_slice(&text.as_bytes()[..fits]);
        self.len += fits;
    }

    /// Appends `value` in `base` (2 to 16), zero-padded to at least `width` digits.
    pub fn push_number(&mut self, mut value: u64, base: u64, width: usize) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [b'0'; 64];
        let mut start = digits.len();
        while value > 0 || start == digits.len() {
            start -= 1;
            digits[start] = DIGITS[(value % base) as usize];
            value /= base;
        }
        start = start.min(digits.len().saturating_sub(width));
        // The digits are ASCII.
        self.push(std::str::from_utf8(&digits[start..]).unwrap_or_default());
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        N
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII was pushed, and cut at byte boundaries that are char boundaries.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_padded_in_their_base() {
        let cases: [(u64, u64, usize, &str); 6] = [
            (0, 8, 4, "0000"),
            (0o644, 8, 4, "0644"),
            (0o104755, 8, 4, "104755"),
            (7, 10, 9, "000000007"),
            (999_999_999, 10, 9, "999999999"),
            (0x4000_0000, 16, 0, "40000000"),
        ];
        for (value, base, width, expected) in cases {
            let mut text = ShortText::<32>::new();
            text.push_number(value, base, width);
            assert_eq!(text.as_str(), expected, "{value} in base {base}");
        }
    }

    #[test]
    fn text_past_the_bound_is_cut_not_a_panic() {
        let mut text = ShortText::<8>::new();
        text.push("O_RDONLY");
        text.push("|O_CLOEXEC");
        assert_eq!(text.as_str(), "O_RDONLY");
        text.push_number(u64::MAX, 2, 0);
        assert_eq!(text.as_str(), "O_RDONLY");
    }
}

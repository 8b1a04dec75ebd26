//! Splits filter text into tokens, each with the column it starts at, so that every error can
//! point at the character that caused it. Tokens are produced on demand: the parser reports the
//! leftmost problem, whether it is a bad character or a bad sentence.

use super::FilterError;

/// A comparison operator as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    /// `~`: substring, or a glob when the value has `*` or `?`.
    Match,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Match => "~",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    /// A bare word: a field name or an unquoted value.
    Word(String),
    /// A double-quoted string, escapes resolved.
    Quoted(String),
    Op(Op),
    Open,
    Close,
    And,
    Or,
    Not,
    End,
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) kind: TokenKind,
    /// 1-based, in chars; one past the last char for `End`.
    pub(super) column: usize,
    /// The source text, for messages.
    pub(super) text: String,
}

impl Token {
    /// How an error message names this token.
    pub(super) fn describe(&self) -> String {
        match self.kind {
            TokenKind::End => "the end".to_owned(),
            TokenKind::Quoted(_) => "a quoted string".to_owned(),
            _ => format!("`{}`", self.text),
        }
    }
}

/// Characters of a bare word: enough for names, numbers, paths, globs, IPv6 addresses and
/// abstract unix socket names (`@name`).
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ':' | '*' | '?' | '@')
}

pub(super) struct Lexer {
    chars: Vec<char>,
    pos: usize,
    peeked: Option<Token>,
    /// The text of the token `next` returned last, for "expected ... after `and`".
    last: Option<String>,
}

impl Lexer {
    pub(super) fn new(text: &str) -> Lexer {
        Lexer {
            chars: text.chars().collect(),
            pos: 0,
            peeked: None,
            last: None,
        }
    }

    pub(super) fn peek(&mut self) -> Result<&Token, FilterError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lex()?,
        };
        Ok(self.peeked.insert(token))
    }

    pub(super) fn next(&mut self) -> Result<Token, FilterError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lex()?,
        };
        self.last = Some(token.text.clone());
        Ok(token)
    }

    /// The text of the token before the one `next` returned last.
    pub(super) fn last(&self) -> Option<&str> {
        self.last.as_deref()
    }

    fn at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn lex(&mut self) -> Result<Token, FilterError> {
        while self.at(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let column = start + 1;
        let Some(c) = self.at(0) else {
            return Ok(Token {
                kind: TokenKind::End,
                column,
                text: String::new(),
            });
        };
        let next = self.at(1);
        let (kind, len) = match (c, next) {
            ('(', _) => (TokenKind::Open, 1),
            (')', _) => (TokenKind::Close, 1),
            ('=', _) => (TokenKind::Op(Op::Eq), 1),
            ('~', _) => (TokenKind::Op(Op::Match), 1),
            ('!', Some('=')) => (TokenKind::Op(Op::Ne), 2),
            ('!', _) => (TokenKind::Not, 1),
            ('<', Some('=')) => (TokenKind::Op(Op::Le), 2),
            ('<', _) => (TokenKind::Op(Op::Lt), 1),
            ('>', Some('=')) => (TokenKind::Op(Op::Ge), 2),
            ('>', _) => (TokenKind::Op(Op::Gt), 1),
            ('&', Some('&')) => (TokenKind::And, 2),
            ('|', Some('|')) => (TokenKind::Or, 2),
            ('&', _) => return Err(error(column, "unexpected `&` (use `&&` or `and`)")),
            ('|', _) => return Err(error(column, "unexpected `|` (use `||` or `or`)")),
            ('"', _) => return self.quoted(),
            (c, _) if is_word_char(c) => return Ok(self.word()),
            (c, _) => {
                return Err(error(
                    column,
                    format!("unexpected character `{}`", c.escape_debug()),
                ));
            }
        };
        self.pos += len;
        Ok(Token {
            kind,
            column,
            text: self.chars[start..self.pos].iter().collect(),
        })
    }

    fn word(&mut self) -> Token {
        let start = self.pos;
        while self.at(0).is_some_and(is_word_char) {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        let kind = match text.to_ascii_lowercase().as_str() {
            "and" => TokenKind::And,
            "or" => TokenKind::Or,
            "not" => TokenKind::Not,
            _ => TokenKind::Word(text.clone()),
        };
        Token {
            kind,
            column: start + 1,
            text,
        }
    }

    /// A `"..."` string; `\"` and `\\` are the only escapes, so a Windows-style or regex-like
    /// backslash is an error rather than silently something else.
    fn quoted(&mut self) -> Result<Token, FilterError> {
        let start = self.pos;
        self.pos += 1;
        let mut value = String::new();
        loop {
            match self.at(0) {
                None => {
                    return Err(error(
                        start + 1,
                        "unterminated string (missing closing `\"`)",
                    ));
                }
                Some('"') => break,
                Some('\\') => match self.at(1) {
                    Some(c @ ('"' | '\\')) => {
                        value.push(c);
                        self.pos += 2;
                    }
                    Some(other) => {
                        return Err(error(
                            self.pos + 1,
                            format!(
                                "unknown escape `\\{}` (strings allow `\\\"` and `\\\\`)",
                                other.escape_debug()
                            ),
                        ));
                    }
                    None => {
                        return Err(error(
                            start + 1,
                            "unterminated string (missing closing `\"`)",
                        ));
                    }
                },
                Some(c) => {
                    value.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Ok(Token {
            kind: TokenKind::Quoted(value),
            column: start + 1,
            text: self.chars[start..self.pos].iter().collect(),
        })
    }
}

/// Messages quote what was typed, which may hold a newline or an escape sequence: shown as
/// typed, it would break the one-line error or reach the terminal raw.
pub(super) fn error(column: usize, message: impl Into<String>) -> FilterError {
    let message = message.into();
    FilterError {
        column,
        message: crate::model::text::printable(message.as_bytes()).into_owned(),
    }
}

//! Recursive descent over the tokens: `or` binds loosest, then `and`, then `not`.
//!
//! ```text
//! expr    = and { ("or" | "||") and }
//! and     = unary { ("and" | "&&") unary }
//! unary   = ("not" | "!") unary | "(" expr ")" | field op value
//! ```
//!
//! Every value is checked here (numbers, event types, addresses, errno names), so a filter that
//! parses can always be evaluated. Nesting is capped so no input can exhaust the stack.

use crate::model::names::errno_name;
use crate::model::{EventKind, Group};

use super::FilterError;
use super::ast::{Cmp, Cond, Expr, KindSet, NumField, TextField};
use super::cgroup::{CgroupField, CgroupMatch};
use super::cidr::Cidr;
use super::fields::Field;
use super::lex::{Lexer, Op, Token, TokenKind, error};
use super::signal::canonical_signal;
use super::text::TextPattern;

/// Deeper than anyone types; bounds recursion in the parser, the evaluator and `Drop`.
const MAX_DEPTH: usize = 64;

pub(super) fn parse(text: &str) -> Result<Expr, FilterError> {
    if text.trim().is_empty() {
        return Ok(Expr::All);
    }
    let mut parser = Parser {
        lexer: Lexer::new(text),
        depth: 0,
    };
    let expr = parser.or()?;
    let token = parser.lexer.next()?;
    match token.kind {
        TokenKind::End => Ok(expr),
        TokenKind::Close => Err(error(token.column, "unbalanced `)`")),
        _ => Err(error(
            token.column,
            format!("expected `and` or `or`, found {}", token.describe()),
        )),
    }
}

struct Parser {
    lexer: Lexer,
    /// Open parentheses and `not`s around the current position.
    depth: usize,
}

impl Parser {
    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and()?];
        while self.lexer.peek()?.kind == TokenKind::Or {
            self.lexer.next()?;
            items.push(self.and()?);
        }
        Ok(Expr::any_of(items))
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary()?];
        while self.lexer.peek()?.kind == TokenKind::And {
            self.lexer.next()?;
            items.push(self.unary()?);
        }
        Ok(Expr::all_of(items))
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        let end = {
            let next = self.lexer.peek()?;
            (next.kind == TokenKind::End).then_some(next.column)
        };
        if let Some(column) = end {
            let after = self.lexer.last().unwrap_or_default();
            return Err(error(
                column,
                format!("expected a field name after `{after}`"),
            ));
        }
        let token = self.lexer.next()?;
        match token.kind {
            TokenKind::Not => {
                self.enter(&token)?;
                let inner = self.unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            TokenKind::Open => {
                self.enter(&token)?;
                let inner = self.or()?;
                self.depth -= 1;
                let close = self.lexer.next()?;
                match close.kind {
                    TokenKind::Close => Ok(inner),
                    TokenKind::End => Err(error(token.column, "unbalanced `(`")),
                    _ => Err(error(
                        close.column,
                        format!("expected `and`, `or` or `)`, found {}", close.describe()),
                    )),
                }
            }
            TokenKind::Word(ref name) => {
                let field = Field::from_name(name).ok_or_else(|| {
                    let names: Vec<_> = Field::ALL.iter().map(|f| f.name()).collect();
                    error(
                        token.column,
                        format!("unknown field `{name}` (fields: {})", names.join(", ")),
                    )
                })?;
                self.condition(field, &token)
            }
            _ => Err(error(
                token.column,
                format!("expected a field name, found {}", token.describe()),
            )),
        }
    }

    fn enter(&mut self, token: &Token) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(error(
                token.column,
                format!("too deeply nested (at most {MAX_DEPTH} levels of `(` and `not`)"),
            ));
        }
        Ok(())
    }

    /// `field op value`, the field already read.
    fn condition(&mut self, field: Field, field_token: &Token) -> Result<Expr, FilterError> {
        let op_token = self.lexer.next()?;
        let TokenKind::Op(op) = op_token.kind else {
            return Err(error(
                op_token.column,
                format!(
                    "expected an operator (=, !=, ~, <, >, <=, >=) after `{}`",
                    field_token.text
                ),
            ));
        };
        check_operator(field, op).map_err(|message| error(op_token.column, message))?;
        let value_token = self.lexer.next()?;
        let value = match value_token.kind {
            TokenKind::Word(value) | TokenKind::Quoted(value) => value,
            _ => {
                return Err(error(
                    value_token.column,
                    format!("expected a value after `{}`", op.symbol()),
                ));
            }
        };
        let cond = build(field, op, value).map_err(|message| error(value_token.column, message))?;
        Ok(Expr::Cond(cond))
    }
}

/// Which operators each field takes; the message names the operator's column.
fn check_operator(field: Field, op: Op) -> Result<(), String> {
    let equality = matches!(op, Op::Eq | Op::Ne);
    match field {
        Field::Tree | Field::Type | Field::Addr if !equality => {
            Err(format!("`{}` takes only `=` or `!=`", field.name()))
        }
        Field::Pid | Field::Ppid | Field::Uid | Field::Port | Field::Ret | Field::ExitCode
            if op == Op::Match =>
        {
            Err("`~` needs a text field".to_owned())
        }
        Field::Comm
        | Field::Path
        | Field::Unix
        | Field::Query
        | Field::Host
        | Field::Cgroup
        | Field::Unit
        | Field::Container
        | Field::Error
        | Field::Signal
        | Field::Sig
            if !equality && op != Op::Match =>
        {
            Err(format!("`{}` needs a number", op.symbol()))
        }
        _ => Ok(()),
    }
}

/// The typed condition; an `Err` is the message for the value's column.
fn build(field: Field, op: Op, value: String) -> Result<Cond, String> {
    let negated = op == Op::Ne;
    let cmp = match op {
        Op::Lt => Cmp::Lt,
        Op::Gt => Cmp::Gt,
        Op::Le => Cmp::Le,
        Op::Ge => Cmp::Ge,
        Op::Eq | Op::Ne | Op::Match => Cmp::Eq,
    };
    let numeric = |field: NumField, min: i64, max: i64| {
        let value = number(&value, field_name(field), min, max)?;
        Ok(Cond::Number {
            field,
            cmp,
            value,
            negated,
        })
    };
    let text = |field: TextField, value: String| {
        let pattern = if op == Op::Match {
            TextPattern::matching(value)
        } else {
            TextPattern::Exact(value)
        };
        Cond::Text {
            field,
            pattern,
            negated,
        }
    };
    match field {
        Field::Pid => numeric(NumField::Pid, 0, u32::MAX.into()),
        Field::Ppid => numeric(NumField::Ppid, 0, u32::MAX.into()),
        Field::Uid => numeric(NumField::Uid, 0, u32::MAX.into()),
        Field::Port => numeric(NumField::Port, 0, u16::MAX.into()),
        Field::Ret => numeric(NumField::Ret, i32::MIN.into(), i32::MAX.into()),
        Field::ExitCode => numeric(NumField::ExitCode, 0, 255),
        Field::Tree => {
            let root = number(&value, "tree", 0, u32::MAX.into())?;
            Ok(Cond::Tree {
                root: u32::try_from(root).unwrap_or_default(),
                negated,
            })
        }
        Field::Comm => Ok(text(TextField::Comm, value)),
        Field::Path => Ok(text(TextField::Path, value)),
        Field::Unix => Ok(text(TextField::Unix, value)),
        Field::Query => Ok(text(TextField::Query, value)),
        Field::Host => Ok(text(TextField::Host, value)),
        Field::Cgroup | Field::Unit | Field::Container => {
            let field = match field {
                Field::Cgroup => CgroupField::Path,
                Field::Unit => CgroupField::Unit,
                _ => CgroupField::Container,
            };
            let pattern = if op == Op::Match {
                TextPattern::matching(value)
            } else {
                TextPattern::Exact(value)
            };
            Ok(Cond::Cgroup {
                matcher: CgroupMatch::new(field, pattern),
                negated,
            })
        }
        Field::Error => {
            // Names are upper case; users need not be.
            let mut value = value.to_ascii_uppercase();
            if op != Op::Match {
                check_errno_name(&value)?;
                value = canonical_errno(value);
            }
            Ok(text(TextField::Error, value))
        }
        Field::Signal | Field::Sig => {
            let value = if op == Op::Match {
                value.to_ascii_uppercase()
            } else {
                canonical_signal(&value)?
            };
            Ok(text(TextField::Signal, value))
        }
        Field::Type => Ok(Cond::Type {
            kinds: event_types(&value)?,
            negated,
        }),
        Field::Addr => match Cidr::parse(&value) {
            Some(net) => Ok(Cond::Addr { net, negated }),
            None => Err(format!("not an IP address or CIDR: {value}")),
        },
    }
}

fn field_name(field: NumField) -> &'static str {
    match field {
        NumField::Pid => "pid",
        NumField::Ppid => "ppid",
        NumField::Uid => "uid",
        NumField::Port => "port",
        NumField::Ret => "ret",
        NumField::ExitCode => "exit_code",
    }
}

/// A decimal integer in `min..=max`.
fn number(text: &str, field: &str, min: i64, max: i64) -> Result<i64, String> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{field}` needs a number, not `{text}`"));
    }
    text.parse::<i64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("`{field}` must be from {min} to {max}, not {text}"))
}

/// `type=` values: a kind by name, or a group of kinds by the group's name.
fn event_types(name: &str) -> Result<KindSet, String> {
    let lower = name.to_ascii_lowercase();
    if let Some(kind) = EventKind::from_name(&lower) {
        return Ok(KindSet::of(&[kind]));
    }
    if let Some(group) = Group::ALL.into_iter().find(|group| group.name() == lower) {
        let kinds: Vec<EventKind> = EventKind::ALL
            .into_iter()
            .filter(|kind| kind.group() == group)
            .collect();
        return Ok(KindSet::of(&kinds));
    }
    // The groups alphabetically, as the message has always listed them.
    let mut groups = Group::ALL.map(Group::name);
    groups.sort_unstable();
    let names: Vec<&str> = EventKind::ALL
        .iter()
        .map(|kind| kind.name())
        .chain(groups)
        .collect();
    Err(format!(
        "unknown event type `{name}` (types: {})",
        names.join(", ")
    ))
}

/// The name events carry for `name`: aliases (`EWOULDBLOCK`) become the primary name
/// `errno_name` gives (`EAGAIN`), and `E2` becomes `ENOENT`; `E<n>` stays for unnamed codes.
fn canonical_errno(name: String) -> String {
    let alias = [
        ("EWOULDBLOCK", libc::EWOULDBLOCK),
        ("EDEADLOCK", libc::EDEADLOCK),
        ("ENOTSUP", libc::ENOTSUP),
    ]
    .into_iter()
    .find_map(|(alias, errno)| (alias == name).then_some(errno));
    let errno = alias.or_else(|| name.strip_prefix('E')?.parse::<i32>().ok());
    match errno.and_then(errno_name) {
        Some(primary) => primary.to_owned(),
        None => name,
    }
}

/// `error=` takes the names events show: a known errno name, or `E<n>` for an unnamed code.
fn check_errno_name(name: &str) -> Result<(), String> {
    if let Ok(number) = name.parse::<i64>() {
        return Err(format!(
            "`error` takes an errno name such as ENOENT, not a number (for numbers use `ret=-{}`)",
            number.unsigned_abs()
        ));
    }
    let canonical = canonical_errno(name.to_owned());
    let known = (1..4096).any(|errno| errno_name(errno) == Some(canonical.as_str()));
    let numbered = name
        .strip_prefix('E')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if known || numbered {
        Ok(())
    } else {
        Err(format!(
            "unknown errno name `{name}` (such as ENOENT, EACCES, ECONNREFUSED)"
        ))
    }
}

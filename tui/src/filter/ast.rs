//! The parsed expression: already checked and typed, so evaluating it cannot fail and the
//! kernel derivation can see exactly which conditions are plain `pid=`/`tree=`/`comm=`.

use crate::model::EventKind;

use super::cidr::Cidr;
use super::text::TextPattern;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Expr {
    /// The empty expression.
    All,
    /// Flattened: no direct child is itself an `And`.
    And(Vec<Expr>),
    /// Flattened: no direct child is itself an `Or`.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cond(Cond),
}

impl Expr {
    /// Whether some condition in the expression passes `test`.
    pub(super) fn any_cond(&self, test: &dyn Fn(&Cond) -> bool) -> bool {
        match self {
            Expr::All => false,
            Expr::And(parts) | Expr::Or(parts) => parts.iter().any(|part| part.any_cond(test)),
            Expr::Not(inner) => inner.any_cond(test),
            Expr::Cond(cond) => test(cond),
        }
    }

    /// `a and b`, merging nested conjunctions so `(a and b) and c` has three conjuncts.
    pub(super) fn all_of(items: Vec<Expr>) -> Expr {
        Self::join(items, Expr::And, |e| match e {
            Expr::And(inner) => Ok(inner),
            other => Err(other),
        })
    }

    /// `a or b`, merging nested disjunctions.
    pub(super) fn any_of(items: Vec<Expr>) -> Expr {
        Self::join(items, Expr::Or, |e| match e {
            Expr::Or(inner) => Ok(inner),
            other => Err(other),
        })
    }

    fn join(
        items: Vec<Expr>,
        make: fn(Vec<Expr>) -> Expr,
        split: fn(Expr) -> Result<Vec<Expr>, Expr>,
    ) -> Expr {
        let mut flat = Vec::with_capacity(items.len());
        for item in items {
            match split(item) {
                Ok(inner) => flat.extend(inner),
                Err(single) => flat.push(single),
            }
        }
        if flat.len() == 1 {
            flat.pop().unwrap_or(Expr::All)
        } else {
            make(flat)
        }
    }
}

/// One `field op value`. `negated` is `!=`: among events that have the field, those where no
/// value equals (so `port!=22` excludes a connection with 22 at either end).
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Cond {
    /// Compared as i64 so one variant covers u32 pids, u16 ports and i32 results.
    Number {
        field: NumField,
        cmp: Cmp,
        value: i64,
        negated: bool,
    },
    Tree {
        root: u32,
        negated: bool,
    },
    Text {
        field: TextField,
        pattern: TextPattern,
        negated: bool,
    },
    Type {
        kinds: KindSet,
        negated: bool,
    },
    Addr {
        net: Cidr,
        negated: bool,
    },
    Cgroup {
        matcher: super::cgroup::CgroupMatch,
        negated: bool,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NumField {
    Pid,
    Ppid,
    Uid,
    Port,
    Ret,
    /// An exit's code; other kinds have none.
    ExitCode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TextField {
    Comm,
    Path,
    /// A unix socket's address, `@name` when abstract.
    Unix,
    /// The name a DNS query asked for.
    Query,
    Error,
    /// The signal that killed a process, by name (`SIGKILL`, `SIG<n>` when it has none).
    Signal,
    /// The `--host` label of a fleet view.
    Host,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cmp {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    pub(super) fn holds(self, left: i64, right: i64) -> bool {
        match self {
            Cmp::Eq => left == right,
            Cmp::Lt => left < right,
            Cmp::Gt => left > right,
            Cmp::Le => left <= right,
            Cmp::Ge => left >= right,
        }
    }
}

/// A set of event kinds, one bit per kind: `type=network` is three kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct KindSet(u32);

impl KindSet {
    pub(super) fn of(kinds: &[EventKind]) -> KindSet {
        KindSet(kinds.iter().fold(0, |bits, &kind| bits | Self::bit(kind)))
    }

    pub(super) fn contains(self, kind: EventKind) -> bool {
        self.0 & Self::bit(kind) != 0
    }

    fn bit(kind: EventKind) -> u32 {
        1 << kind.index()
    }
}

// A kind past the 32nd needs a wider set.
const _: () = assert!(EventKind::ALL.len() <= u32::BITS as usize);

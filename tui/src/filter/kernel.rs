//! The part of a filter the kernel can enforce before an event is even written to the ring
//! buffer: which processes to trace, by pid, process tree and command name.
//!
//! It must be sound: the kernel may let through events the full filter rejects (user space
//! filters those), but never drop one it accepts. So each piece of the expression gives a
//! restriction only when it certainly implies one, and anything unclear gives none.

use std::collections::BTreeSet;

use ringside_common::COMM_LEN;

use super::ast::{Cmp, Cond, Expr, NumField, TextField};
use super::cgroup::CgroupMatch;
use super::text::TextPattern;

/// Which processes the kernel traces.
///
/// The kernel traces a process when
/// (`pids` and `tree_roots` are both `None`, or its pid is in `pids`, or it is one of the
/// `tree_roots` or descends from one) AND (`comms` is `None`, or its command name is in `comms`).
///
/// `None` means no restriction; a set, when present, is never empty (the pid and tree sets are
/// one restriction: one of them may be `None` while the other is set). Command names are as
/// typed; the kernel compares their first 15 bytes, as it keeps no more of a name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KernelPart {
    pub pids: Option<BTreeSet<u32>>,
    /// pids whose trees are included
    pub tree_roots: Option<BTreeSet<u32>>,
    pub comms: Option<BTreeSet<String>>,
    /// TCP events must have an end in one of these prefixes `(network, prefix length)`; other
    /// events are not restricted by it (they have no address to match).
    pub nets: Option<BTreeSet<(std::net::IpAddr, u8)>>,
    /// The process must be in a cgroup one of these matches (or under one).
    pub cgroups: Option<Vec<CgroupMatch>>,
}

impl KernelPart {
    /// Whether the kernel traces only some processes or connections under it: then events
    /// of the others are never collected.
    pub fn restricts(&self) -> bool {
        self.pids.is_some()
            || self.tree_roots.is_some()
            || self.comms.is_some()
            || self.nets.is_some()
            || self.cgroups.is_some()
    }
}

/// `host`: the label of the machine the kernel part is for, when it has one (a fleet's
/// remote): there `host=` conditions are known beforehand, and a branch for another host
/// restricts nothing.
pub(super) fn kernel_part(expr: &Expr, host: Option<&str>) -> KernelPart {
    let Restriction {
        procs,
        comms,
        nets,
        cgroups,
        // A filter for other hosts only: user space rejects all; the kernel part says nothing
        // it cannot express.
        never: _,
    } = restriction(expr, host);
    let non_empty = |set: BTreeSet<u32>| (!set.is_empty()).then_some(set);
    let (pids, tree_roots) = match procs {
        Some(procs) => (non_empty(procs.pids), non_empty(procs.roots)),
        None => (None, None),
    };
    KernelPart {
        pids,
        tree_roots,
        comms,
        nets,
        cgroups,
    }
}

/// Two independent dimensions; `None` is "no restriction" in that dimension.
#[derive(Default)]
struct Restriction {
    procs: Option<Procs>,
    comms: Option<BTreeSet<String>>,
    /// Prefixes a TCP event must have an end in.
    nets: Option<BTreeSet<(std::net::IpAddr, u8)>>,
    /// Cgroup conditions, one of which the process's cgroup meets.
    cgroups: Option<Vec<CgroupMatch>>,
    /// Certainly matches nothing here (a `host=` for another host).
    never: bool,
}

/// A process passes if its pid is in `pids` or it is in the tree of one of `roots`;
/// at least one of the sets is non-empty.
struct Procs {
    pids: BTreeSet<u32>,
    roots: BTreeSet<u32>,
}

/// A superset of the processes whose events `expr` can accept on `host`.
fn restriction(expr: &Expr, host: Option<&str>) -> Restriction {
    match expr {
        Expr::Cond(cond) => condition(cond, host),
        Expr::And(items) => items.iter().map(|item| restriction(item, host)).fold(
            Restriction::default(),
            |acc, next| Restriction {
                procs: both_procs(acc.procs, next.procs),
                comms: both_comms(acc.comms, next.comms),
                // Either side alone is a sound superset; prefixes do not intersect simply.
                nets: acc.nets.or(next.nets),
                cgroups: acc.cgroups.or(next.cgroups),
                never: acc.never || next.never,
            },
        ),
        Expr::Or(items) => {
            // A branch that matches nothing here adds nothing to the others.
            let mut branches = items
                .iter()
                .map(|item| restriction(item, host))
                .filter(|branch| !branch.never);
            let Some(first) = branches.next() else {
                return Restriction {
                    never: !items.is_empty(),
                    ..Restriction::default()
                };
            };
            branches.fold(first, |acc, next| Restriction {
                procs: either(acc.procs, next.procs, |a, b| Procs {
                    pids: a.pids.union(&b.pids).copied().collect(),
                    roots: a.roots.union(&b.roots).copied().collect(),
                }),
                comms: either(acc.comms, next.comms, |a, b| a.union(&b).cloned().collect()),
                nets: either(acc.nets, next.nets, |a, b| a.union(&b).copied().collect()),
                cgroups: either(acc.cgroups, next.cgroups, |mut a, b| {
                    a.extend(b);
                    a
                }),
                never: false,
            })
        }
        // Negations describe what is excluded, which the kernel cannot use.
        Expr::Not(_) | Expr::All => Restriction::default(),
    }
}

/// Only plain `pid=N`, `tree=N` and `comm=NAME` restrict; `!=`, `~`, `<` and the other fields
/// say nothing about which processes to trace. On a host with a label, `host` conditions are
/// known: one that fails matches nothing.
fn condition(cond: &Cond, host: Option<&str>) -> Restriction {
    match cond {
        Cond::Text {
            field: TextField::Host,
            pattern,
            negated,
        } => Restriction {
            never: host.is_some_and(|label| pattern.matches(label.as_bytes()) == *negated),
            ..Restriction::default()
        },
        Cond::Number {
            field: NumField::Pid,
            cmp: Cmp::Eq,
            value,
            negated: false,
        } => match u32::try_from(*value) {
            Ok(pid) => Restriction {
                procs: Some(Procs {
                    pids: BTreeSet::from([pid]),
                    roots: BTreeSet::new(),
                }),
                comms: None,
                nets: None,
                cgroups: None,
                never: false,
            },
            Err(_) => Restriction::default(),
        },
        Cond::Tree {
            root,
            negated: false,
        } => Restriction {
            procs: Some(Procs {
                pids: BTreeSet::new(),
                roots: BTreeSet::from([*root]),
            }),
            comms: None,
            nets: None,
            cgroups: None,
            never: false,
        },
        Cond::Text {
            field: TextField::Comm,
            pattern: TextPattern::Exact(name),
            negated: false,
        } => Restriction {
            procs: None,
            comms: Some(BTreeSet::from([name.clone()])),
            nets: None,
            cgroups: None,
            never: false,
        },
        Cond::Addr {
            net,
            negated: false,
        } => Restriction {
            nets: Some(BTreeSet::from([net.network_and_prefix()])),
            ..Restriction::default()
        },
        Cond::Cgroup {
            matcher,
            negated: false,
        } => Restriction {
            cgroups: Some(vec![matcher.clone()]),
            ..Restriction::default()
        },
        _ => Restriction::default(),
    }
}

/// `a and b` on processes: either restriction alone is sound; two plain pid sets intersect,
/// unless that leaves nothing (an empty set would read as "no restriction" downstream, and a
/// filter that can match nothing is not worth a special case).
fn both_procs(a: Option<Procs>, b: Option<Procs>) -> Option<Procs> {
    match (a, b) {
        (Some(a), Some(b)) if a.roots.is_empty() && b.roots.is_empty() => {
            let common: BTreeSet<u32> = a.pids.intersection(&b.pids).copied().collect();
            if common.is_empty() {
                Some(a)
            } else {
                Some(Procs {
                    pids: common,
                    roots: BTreeSet::new(),
                })
            }
        }
        (Some(a), _) => Some(a),
        (None, b) => b,
    }
}

/// `a and b` on command names: the names of `a` the kernel cannot tell from one in `b`
/// (`systemd-journald` and `systemd-journalX` are the same 15 bytes), or all of `a` if none.
fn both_comms(
    a: Option<BTreeSet<String>>,
    b: Option<BTreeSet<String>>,
) -> Option<BTreeSet<String>> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let common: BTreeSet<String> = a
                .iter()
                .filter(|x| b.iter().any(|y| kernel_comm(x) == kernel_comm(y)))
                .cloned()
                .collect();
            Some(if common.is_empty() { a } else { common })
        }
        (a, None) => a,
        (None, b) => b,
    }
}

/// `a or b`: restricted only if both branches are, to the union.
fn either<T>(a: Option<T>, b: Option<T>, union: impl Fn(T, T) -> T) -> Option<T> {
    Some(union(a?, b?))
}

/// What the kernel keeps of a command name: its first 15 bytes. `comm=systemd-journald` thus
/// finds the process the kernel calls `systemd-journal`, in user space as in the kernel.
pub(super) fn kernel_comm(name: &str) -> &[u8] {
    let bytes = name.as_bytes();
    &bytes[..bytes.len().min(COMM_LEN - 1)]
}

//! Deciding whether one event matches. Each field yields zero, one or two values for an event
//! (`port` has a local and a remote end; `ret` is absent on an exit, `exit_code` on all but
//! exits). A comparison holds when some value satisfies it; `!=` holds when the event has values
//! and none is equal; and an event without the field matches neither, so `ret!=0` never selects
//! an exit.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::model::event::{Event, SockAddrs};
use crate::model::names::{error_name, signal_label};

use super::Ancestry;
use super::ast::{Cond, Expr, NumField, TextField};
use super::kernel::kernel_comm;
use super::text::TextPattern;

pub(super) fn eval(expr: &Expr, event: &Event, ancestry: &dyn Ancestry) -> bool {
    match expr {
        Expr::All => true,
        Expr::And(items) => items.iter().all(|item| eval(item, event, ancestry)),
        Expr::Or(items) => items.iter().any(|item| eval(item, event, ancestry)),
        Expr::Not(inner) => !eval(inner, event, ancestry),
        Expr::Cond(cond) => condition(cond, event, ancestry),
    }
}

fn condition(cond: &Cond, event: &Event, ancestry: &dyn Ancestry) -> bool {
    match cond {
        Cond::Number {
            field,
            cmp,
            value,
            negated,
        } => decide(numbers(event, *field), |n| cmp.holds(n, *value), *negated),
        Cond::Tree { root, negated } => {
            ancestry.is_descendant_or_self(event.host, event.pid, *root) != *negated
        }
        Cond::Text {
            field,
            pattern,
            negated,
        } => {
            let test = |text: Cow<'_, [u8]>| match (field, pattern) {
                (TextField::Comm, TextPattern::Exact(name)) => *text == *kernel_comm(name),
                _ => pattern.matches(&text),
            };
            if *field == TextField::Path {
                // Any form of any path the event names: as given, made absolute, a rename's
                // new name, a link's target.
                let paths = event.details.path().into_iter();
                let every = paths.chain(event.details.other_paths()).map(Cow::Borrowed);
                return decide(every, test, *negated);
            }
            decide(text(event, *field), test, *negated)
        }
        Cond::Type { kinds, negated } => kinds.contains(event.kind()) != *negated,
        Cond::Cgroup { matcher, negated } => {
            // A cgroup whose path is unknown has none of the fields.
            let known = event.cgroup.as_deref().filter(|info| info.path.is_some());
            decide(known, |info| matcher.matches(info), *negated)
        }
        Cond::Addr { net, negated } => decide(
            ends(event).map(|(ip, _)| ip),
            |ip: IpAddr| net.contains(ip),
            *negated,
        ),
    }
}

/// Whether some value passes `test` (or, negated, none does); false when there is no value.
fn decide<T>(values: impl IntoIterator<Item = T>, test: impl Fn(T) -> bool, negated: bool) -> bool {
    let mut any_value = false;
    for value in values {
        if test(value) {
            return !negated;
        }
        any_value = true;
    }
    any_value && negated
}

fn numbers(event: &Event, field: NumField) -> impl Iterator<Item = i64> {
    let (first, second) = match field {
        NumField::Pid => (Some(event.pid.into()), None),
        NumField::Ppid => (Some(event.ppid.into()), None),
        NumField::Uid => (Some(event.uid.into()), None),
        NumField::Ret => (event.details.ret().map(i64::from), None),
        NumField::ExitCode => (event.details.exit_code().map(i64::from), None),
        NumField::Port => {
            let mut ports = ends(event).map(|(_, port)| i64::from(port));
            (ports.next(), ports.next())
        }
    };
    first.into_iter().chain(second)
}

fn text(event: &Event, field: TextField) -> Option<Cow<'_, [u8]>> {
    match field {
        TextField::Comm => Some(Cow::Borrowed(&event.comm[..])),
        TextField::Path => event.details.path().map(Cow::Borrowed),
        TextField::Unix => event.details.unix_path(),
        TextField::Query => event.details.query().map(Cow::Borrowed),
        TextField::Error => {
            // As the JSON output names it: `E<n>` for codes without a name.
            let name = event.details.ret().and_then(error_name)?;
            Some(Cow::Owned(name.into_bytes()))
        }
        TextField::Host => {
            let label = event.host.label()?;
            Some(Cow::Owned(label.as_bytes().to_vec()))
        }
        TextField::Signal => {
            let name = signal_label(event.details.signal()?);
            Some(Cow::Owned(name.into_owned().into_bytes()))
        }
    }
}

/// The known ends of a connection, local first.
fn ends(event: &Event) -> impl Iterator<Item = (IpAddr, u16)> {
    event.details.addrs().into_iter().flat_map(SockAddrs::ends)
}

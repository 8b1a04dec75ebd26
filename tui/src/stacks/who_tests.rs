//! The WHO column's names: the commonest programs of each row, counted however their events
//! interleave.

use super::tests::build;
use super::*;
use crate::model::Event;
use crate::stacks::fixtures::service_events;
use crate::stacks::who::CommTally;

fn names(who: &who::Who) -> Vec<(String, u64)> {
    who.commonest
        .iter()
        .map(|(comm, n)| (String::from_utf8_lossy(comm).into_owned(), *n))
        .collect()
}

/// The service's events, the settings opens of pid 102 renamed `svc-reload` and of pid 103
/// `curl`: the settings row has three programs, the others one.
fn renamed() -> Vec<Event> {
    let mut events = service_events();
    for event in &mut events {
        match event.pid {
            102 => event.comm = b"svc-reload".to_vec().into(),
            103 => event.comm = b"curl".to_vec().into(),
            _ => {}
        }
    }
    events
}

#[test]
fn a_stack_row_names_its_commonest_programs() {
    let (views, _) = build(&renamed(), Grouping::default());
    let settings = &views.stacks.rows[0];
    assert_eq!(settings.count, 54);
    assert_eq!(
        names(&settings.who),
        [("svc".to_owned(), 30), ("svc-reload".to_owned(), 20)]
    );
    assert_eq!(settings.who.others, 1);
    assert_eq!(settings.who.describe(), "svc ×30, svc-reload ×20, +1 more");
    let plugins = &views.stacks.rows[1];
    assert_eq!(plugins.who.describe(), "svc ×30");
}

#[test]
fn a_failure_row_names_its_commonest_programs() {
    let (views, _) = build(&renamed(), Grouping::default());
    let enoent = &views.failures.rows[0];
    assert_eq!(enoent.count, 54);
    assert_eq!(enoent.who.describe(), "svc ×30, svc-reload ×20, +1 more");
}

#[test]
fn interleaved_names_are_counted_whole_and_ties_go_by_name() {
    let mut tally = CommTally::default();
    for name in ["b", "a", "b", "a", "c", "b", "a"] {
        tally.add(name.as_bytes().into());
    }
    let who = tally.finish();
    assert_eq!(names(&who), [("a".to_owned(), 3), ("b".to_owned(), 3)]);
    assert_eq!(who.others, 1);
    assert_eq!(CommTally::default().finish().describe(), "");
}

#[test]
fn names_are_shown_escaped() {
    let mut tally = CommTally::default();
    tally.add(b"\x1b[2Jevil".as_slice().into());
    assert_eq!(tally.finish().describe(), "\\e[2Jevil ×1");
}

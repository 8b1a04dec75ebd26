//! What a new user ran into on a busy host: a selection that drifted, trees that forgot,
//! titles that claimed what they did not do. Each test failed before its fix.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{event, screen};
use crate::app::{App, Msg, Stats};
use crate::filter::Filter;
use crate::model::Event;
use crate::model::event::{Details, Exit, Fork};
use crate::model::sample;

fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn tick(app: &mut App) {
    app.update(Msg::Tick(Stats::default()));
}

fn open(seq: u64, pid: u32, ppid: u32, comm: &str, ret: i32) -> Event {
    event(seq, pid, ppid, comm, sample::open("/etc/hostname", ret))
}

fn fork(seq: u64, parent: u32, child: u32, comm: &str) -> Event {
    event(
        seq,
        parent,
        1,
        comm,
        Details::Fork(Fork {
            child_pid: child,
            clone_flags: 0,
        }),
    )
}

fn exit(seq: u64, pid: u32, ppid: u32, comm: &str) -> Event {
    event(
        seq,
        pid,
        ppid,
        comm,
        Details::Exit(Exit {
            status: 0,
            lifetime_ns: 1_000_000,
        }),
    )
}

/// Processes come and go above the selected one: the selection stays on its process, and
/// Enter scopes to it.
#[test]
fn the_processes_selection_stays_on_its_process_while_rows_come_and_go() {
    let mut app = super::tests::live_app(120, 40);
    let first: Vec<Event> = (0..8)
        .map(|i| open(i, 500 + i as u32, 1, "svc", 3))
        .collect();
    app.update(Msg::Events(first, 0));
    tick(&mut app);
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('g'));
    for _ in 0..6 {
        key(&mut app, KeyCode::Char('j'));
    }
    let chosen = app.selected_process().expect("a process is selected");
    // New processes with lower pids sort above it; one above it exits and ages out.
    let newcomers: Vec<Event> = (0..5)
        .map(|i| open(20 + i, 100 + i as u32, 1, "make", 0))
        .collect();
    app.update(Msg::Events(newcomers, 0));
    app.update(Msg::Events(vec![exit(40, 502, 1, "svc")], 0));
    for _ in 0..40 {
        tick(&mut app);
    }
    assert_eq!(
        app.selected_process(),
        Some(chosen),
        "the selection moved off {chosen}"
    );
    key(&mut app, KeyCode::Enter);
    assert!(
        app.visible()
            .iter()
            .all(|&id| app.store().get(id).is_some_and(|e| e.pid == chosen)),
        "Enter scoped to something other than {chosen}"
    );
}

/// The selected process leaves the pane: the title says so, nothing else gets selected, and
/// Enter scopes to nothing.
#[test]
fn a_selected_process_that_is_gone_is_said_gone_not_replaced() {
    let mut app = super::tests::live_app(120, 40);
    let events: Vec<Event> = (0..4)
        .map(|i| open(i, 600 + i as u32, 1, "svc", 3))
        .collect();
    app.update(Msg::Events(events, 0));
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('j'));
    let chosen = app.selected_process().expect("selected");
    app.update(Msg::Events(vec![exit(10, chosen, 1, "svc")], 0));
    for _ in 0..40 {
        tick(&mut app);
    }
    assert_eq!(app.selected_process(), None);
    let text = screen(&mut app, 120, 40);
    assert!(text.contains(&format!("selected {chosen} gone")), "{text}");
    let before = app.visible().len();
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.scope(), None);
    assert_eq!(app.visible().len(), before);
}

/// A failure scope narrows the Events pane only: the Processes pane does not claim it.
#[test]
fn a_failure_scope_is_not_claimed_by_the_processes_pane() {
    let mut app = super::tests::live_app(150, 36);
    app.update(Msg::Events(crate::stacks::fixtures::service_events(), 0));
    tick(&mut app);
    key(&mut app, KeyCode::Char('7'));
    key(&mut app, KeyCode::Enter);
    let text = screen(&mut app, 150, 36);
    assert!(
        text.contains("scope: failure #1"),
        "no failure scope:\n{text}"
    );
    let processes_title = text
        .lines()
        .find_map(|line| line.split_once("┌ Processes").map(|(_, title)| title))
        .expect("a Processes pane");
    assert!(
        !processes_title.contains("scope:"),
        "the Processes pane claims the scope: {processes_title}"
    );
}

/// A tree filter keeps the exited children of the tree after the process table forgot them.
#[test]
fn a_tree_filter_keeps_exited_descendants_after_they_age_out() {
    let mut app = super::tests::live_app(120, 40);
    app.update(Msg::Events(
        vec![
            fork(1, 700, 701, "bash"),
            fork(2, 701, 702, "bash"),
            open(3, 702, 701, "cat", 3),
            exit(4, 702, 701, "cat"),
            exit(5, 701, 700, "bash"),
            open(6, 900, 1, "other", 3),
        ],
        0,
    ));
    let tree_pids = |app: &App| -> Vec<u32> {
        app.visible()
            .iter()
            .filter_map(|&id| app.store().get(id))
            .map(|e| e.pid)
            .collect()
    };
    let apply = |app: &mut App, text: &str| {
        key(app, KeyCode::Char('f'));
        for _ in 0..40 {
            key(app, KeyCode::Backspace);
        }
        for c in text.chars() {
            key(app, KeyCode::Char(c));
        }
        key(app, KeyCode::Enter);
    };
    apply(&mut app, "tree=700");
    let at_first = tree_pids(&app);
    assert!(at_first.contains(&702), "{at_first:?}");
    for _ in 0..40 {
        tick(&mut app);
    }
    apply(&mut app, "pid=1");
    apply(&mut app, "tree=700");
    assert_eq!(
        tree_pids(&app),
        at_first,
        "35 s later the tree forgot its children"
    );
}

/// `r` in a replay: no empty recording, a message that says why and what to do instead.
#[test]
fn r_in_a_replay_says_why_it_does_not_record() {
    let mut app = App::new(1000, Filter::match_all(), "replay x.rsrec".into()).replaying();
    app.update(Msg::Resize(120, 40));
    app.update(Msg::Events(vec![open(1, 10, 1, "svc", 3)], 0));
    let actions = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::NONE,
    )));
    assert!(actions.is_empty(), "{actions:?}");
    let text = screen(&mut app, 120, 40);
    assert!(text.contains("a replay is a recording already"), "{text}");
}

pub(super) fn type_filter(app: &mut App, text: &str) {
    key(app, KeyCode::Char('f'));
    for _ in 0..60 {
        key(app, KeyCode::Backspace);
    }
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
    key(app, KeyCode::Enter);
}

/// A filter the kernel enforces says so in the title; clearing it says what was never
/// collected; the pane then follows the newest events; the notice goes after a few seconds.
#[test]
fn a_kernel_filter_says_what_it_hides_and_clearing_it_says_so_too() {
    let mut app = super::tests::live_app(160, 30);
    let events: Vec<Event> = (0..30)
        .map(|i| open(i, 800 + (i % 3) as u32, 1, "svc", 3))
        .collect();
    app.update(Msg::Events(events, 0));
    key(&mut app, KeyCode::Char('g'));
    type_filter(&mut app, "comm=svc");
    let text = screen(&mut app, 160, 30);
    assert!(
        text.contains("filter: comm=svc · kernel: only these are traced"),
        "{text}"
    );
    type_filter(&mut app, "");
    let text = screen(&mut app, 160, 30);
    assert!(
        text.contains("earlier events of others were never collected"),
        "{text}"
    );
    assert!(
        text.contains("following"),
        "the pane did not follow the newest:\n{text}"
    );
    for _ in 0..10 {
        tick(&mut app);
    }
    let text = screen(&mut app, 160, 30);
    assert!(
        !text.contains("never collected"),
        "the notice never went:\n{text}"
    );
}

/// At 60 columns the title keeps the filter in view.
#[test]
fn the_filter_stays_in_the_title_at_sixty_columns() {
    let mut app = App::new(1000, Filter::parse("ret<0").unwrap(), "live".into());
    app.update(Msg::Resize(60, 24));
    let text = screen(&mut app, 60, 24);
    let title = text.lines().next().unwrap_or_default();
    assert!(title.contains("filter: ret<0"), "{title}");
}

/// `/` in the Processes pane finds a process by name or jumps to a pid, and Enter scopes to
/// it; the Events pane's search is not involved.
#[test]
fn slash_in_processes_finds_a_name_or_jumps_to_a_pid() {
    let mut app = super::tests::live_app(120, 40);
    let mut events: Vec<Event> = (0..6)
        .map(|i| open(i, 300 + i as u32, 1, "worker", 3))
        .collect();
    events.push(open(10, 4242, 1, "nginx", 3));
    events.push(open(11, 77, 1, "postgres", 3));
    app.update(Msg::Events(events, 0));
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('/'));
    for c in "4242".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_process(), Some(4242));
    key(&mut app, KeyCode::Char('/'));
    for c in "postg".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_process(), Some(77));
    key(&mut app, KeyCode::Enter);
    assert!(
        app.visible()
            .iter()
            .all(|&id| app.store().get(id).is_some_and(|e| e.pid == 77)),
        "Enter did not scope to the process found"
    );
}

/// Names of any length: the sparklines start in one column.
#[test]
fn process_columns_line_up_whatever_the_names() {
    let mut app = super::tests::live_app(160, 30);
    app.update(Msg::Events(
        vec![
            open(1, 5, 1, "sh", 3),
            open(2, 123456, 1, "a-much-longer-nm", 3),
            open(3, 42, 1, "mid", 3),
        ],
        0,
    ));
    tick(&mut app);
    let text = screen(&mut app, 160, 30);
    let columns: Vec<usize> = text
        .lines()
        .filter(|line| line.contains(" open 1"))
        .filter_map(|line| {
            let pane = line.split('│').nth(3)?;
            pane.find(" open 1").map(|at| pane[..at].chars().count())
        })
        .collect();
    assert_eq!(columns.len(), 3, "{text}");
    assert!(
        columns.windows(2).all(|w| w[0] == w[1]),
        "{columns:?}\n{text}"
    );
}

/// `n` and `N` step through the processes a search matches, forward and back.
#[test]
fn n_and_shift_n_step_through_matching_processes() {
    let mut app = super::tests::live_app(120, 40);
    let names = ["bash", "cat", "bash", "ls", "bash"];
    let events: Vec<Event> = names
        .iter()
        .enumerate()
        .map(|(i, name)| open(i as u64, 900 + i as u32, 1, name, 3))
        .collect();
    app.update(Msg::Events(events, 0));
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('/'));
    for c in "bash".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.selected_process(), Some(900));
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.selected_process(), Some(902));
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(app.selected_process(), Some(904));
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.selected_process(), Some(902));
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.selected_process(), Some(900));
    key(&mut app, KeyCode::Char('N'));
    assert_eq!(app.selected_process(), Some(904), "wraps around");
}

/// A fleet's hosts reuse each other's pids: the Processes pane keeps them apart, labelled,
/// and Enter scopes to the one on its host.
#[test]
fn processes_of_two_hosts_with_one_pid_stay_apart() {
    use crate::model::host::HostId;
    let mut app = App::new(1000, Filter::match_all(), "2 hosts".into());
    app.update(Msg::Resize(160, 40));
    let on = |host: &str, seq: u64, comm: &str| {
        let mut event = open(seq, 4242, 1, comm, 3);
        event.host = HostId::intern(host);
        event
    };
    app.update(Msg::Events(
        vec![
            on("pa-web1", 1, "nginx"),
            on("pa-web2", 2, "postgres"),
            on("pa-web2", 3, "postgres"),
        ],
        0,
    ));
    tick(&mut app);
    let text = screen(&mut app, 160, 40);
    assert!(
        text.contains("pa-web1 nginx") && text.contains("pa-web2 postgres"),
        "{text}"
    );
    key(&mut app, KeyCode::Tab);
    key(&mut app, KeyCode::Char('/'));
    for c in "postgres".chars() {
        key(&mut app, KeyCode::Char(c));
    }
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    let hosts: Vec<String> = app
        .visible()
        .iter()
        .filter_map(|&id| app.store().get(id)?.host.label())
        .map(|label| label.to_string())
        .collect();
    assert_eq!(hosts, ["pa-web2", "pa-web2"], "the scope crossed hosts");
}

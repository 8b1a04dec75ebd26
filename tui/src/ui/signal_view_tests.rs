//! "Who killed it" in the TUI: a fork storm's SIGCHLDs do not bury the one `kill` from another
//! process, which stands out; a filter on `sig` shows them all; the Changes tab has its key.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::{event, live_app, screen};
use super::usability_tests::type_filter;
use crate::app::{App, Msg, Stats, Tab};
use crate::model::Event;
use crate::model::event::{Details, Signal};
use crate::model::sample;

fn key(app: &mut App, code: KeyCode) {
    app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn signal(seq: u64, sender: u32, sig: i32, code: i32, target: u32) -> Event {
    event(
        seq,
        sender,
        1,
        "sender",
        Details::Signal(Signal {
            sig,
            target_pid: target,
            target_comm: b"victim".as_slice().into(),
            code,
            group: true,
            result: 0,
            errno: 0,
        }),
    )
}

/// 500 children exit (each a SIGCHLD to the shell), and one process kills another among them.
fn storm_with_one_kill() -> Vec<Event> {
    let mut events: Vec<Event> = (0..500)
        .map(|i| signal(i, 2000 + i as u32, 17, 1, 1000))
        .collect();
    events.insert(250, signal(9999, 4242, 9, 0, 777));
    events
}

#[test]
fn a_kill_is_not_buried_under_a_storm_of_sigchld() {
    let mut app = live_app(120, 30);
    app.update(Msg::Events(storm_with_one_kill(), 0));
    app.update(Msg::Tick(Stats::default()));
    assert_eq!(app.visible().len(), 1, "only the kill is shown");
    let text = screen(&mut app, 120, 30);
    assert!(text.contains("SIGKILL → 777 victim"), "{text}");
    assert!(!text.contains("SIGCHLD"), "{text}");

    // Asking for signals shows the routine ones too.
    type_filter(&mut app, "sig=SIGCHLD");
    assert_eq!(app.visible().len(), 500);
    type_filter(&mut app, "");
    assert_eq!(app.visible().len(), 1);
}

#[test]
fn the_changes_tab_shows_only_file_changes_on_its_own_key() {
    let mut app = live_app(120, 30);
    let rename = crate::ingest::test_news_records::change_record(crate::model::EventKind::Rename);
    let bytes = crate::ingest::test_news_records::change_bytes(&rename);
    let change = crate::ingest::decode::decode(&bytes, &crate::clock::WallClock::now().unwrap())
        .expect("a rename decodes");
    app.update(Msg::Events(
        vec![
            event(1, 10, 1, "cat", sample::open("/etc/hosts", 3)),
            change,
        ],
        0,
    ));
    key(&mut app, KeyCode::Char('8'));
    assert_eq!(app.tab(), Tab::Changes);
    assert_eq!(app.visible().len(), 1);
    let text = screen(&mut app, 120, 30);
    assert!(text.contains("/srv/www/a.txt → /srv/www/old"), "{text}");
}

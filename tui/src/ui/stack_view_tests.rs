//! The stack views as a person sees them: snapshots of each, and the keys that move between
//! them and the Events pane.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{App, Msg, Scope, Stats, View};
use crate::filter::Filter;
use crate::model::event::Details;
use crate::stacks::fixtures::service_events;

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn app() -> App {
    let mut app = super::tests::live_app(150, 36);
    app.update(Msg::Events(service_events(), 0));
    app.update(Msg::Tick(Stats::default()));
    app
}

fn screen(app: &mut App) -> String {
    app.refresh_stack_views();
    let mut terminal = Terminal::new(TestBackend::new(150, 36)).unwrap();
    terminal.draw(|frame| super::draw(frame, app)).unwrap();
    terminal.backend().to_string()
}

/// The paths of the events the Events pane shows.
fn shown_paths(app: &App) -> Vec<String> {
    app.visible()
        .iter()
        .filter_map(|&id| app.store().get(id))
        .map(|event| match &event.details {
            Details::Open(open) => String::from_utf8_lossy(&open.path).into_owned(),
            other => other.kind().name().to_owned(),
        })
        .collect()
}

#[test]
fn the_stacks_view_groups_events_by_stack() {
    let mut app = app();
    app.update(key(KeyCode::Char('5')));
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn the_failures_view_puts_the_commonest_failure_first() {
    let mut app = app();
    app.update(key(KeyCode::Char('7')));
    insta::assert_snapshot!(screen(&mut app));
}

#[test]
fn the_flame_graph_selects_zooms_and_zooms_out() {
    let mut app = app();
    app.update(key(KeyCode::Char('6')));
    insta::assert_snapshot!("flame_whole", screen(&mut app));
    // all → main → start_service → read_settings, then zoom into it.
    for _ in 0..3 {
        app.update(key(KeyCode::Down));
    }
    let text = screen(&mut app);
    assert!(
        text.contains("▶ read_settings (user)  54 events · 60.0% of all"),
        "{text}"
    );
    app.update(key(KeyCode::Enter));
    insta::assert_snapshot!("flame_zoomed", screen(&mut app));
    app.update(key(KeyCode::Esc));
    let text = screen(&mut app);
    assert!(
        text.contains("% of start_service"),
        "zoomed out one level:\n{text}"
    );
}

#[test]
fn enter_shows_a_stacks_events_and_esc_returns_to_the_stacks() {
    let mut app = app();
    app.update(key(KeyCode::Char('5')));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.view(), View::Events);
    assert!(matches!(app.scope(), Some(Scope::Stack { number: 2, .. })));
    let paths = shown_paths(&app);
    assert_eq!(paths.len(), 30);
    assert!(
        paths.iter().all(|p| p.starts_with("/usr/lib/svc/plugin")),
        "{paths:?}"
    );
    assert!(screen(&mut app).contains("scope: stack #2"));
    app.update(key(KeyCode::Esc));
    assert_eq!((app.view(), app.scope()), (View::Stacks, None));
    assert_eq!(app.view_cursor(), 1, "back on the row it left");
    assert_eq!(app.visible().len(), 90);
}

#[test]
fn enter_on_a_failure_shows_its_events() {
    let mut app = app();
    app.update(key(KeyCode::Char('7')));
    app.update(key(KeyCode::Enter));
    let paths = shown_paths(&app);
    assert_eq!(paths.len(), 54);
    assert!(paths.iter().all(|p| p == "/etc/svc/settings.conf"));
    app.update(key(KeyCode::Esc));
    assert_eq!(app.view(), View::Failures);
}

#[test]
fn grouping_keys_merge_rows_and_say_so_in_the_title() {
    let mut app = app();
    app.update(key(KeyCode::Char('5')));
    let rows = |app: &App| app.stack_views().map(|v| v.stacks.rows.len());
    assert_eq!(rows(&app), Some(4));
    // The deepest stacks have five frames: `-` takes four, again three, and `+` four again.
    for _ in 0..2 {
        app.update(key(KeyCode::Char('-')));
    }
    app.update(key(KeyCode::Char('+')));
    assert_eq!(app.grouping().innermost, Some(4));
    // Down to the innermost frame: both kinds of open meet in libc's __open64.
    for _ in 0..10 {
        app.update(key(KeyCode::Char('-')));
    }
    assert_eq!(rows(&app), Some(3));
    assert!(screen(&mut app).contains("whole stacks, innermost frame"));
    for _ in 0..10 {
        app.update(key(KeyCode::Char('+')));
    }
    assert_eq!(app.grouping().innermost, None);
    app.update(key(KeyCode::Char('u')));
    assert!(screen(&mut app).contains("user stacks"));
    app.update(key(KeyCode::Char('s')));
    assert!(screen(&mut app).contains("by failures"));
}

#[test]
fn the_stacks_view_counts_events_as_they_come() {
    let mut app = app();
    app.update(key(KeyCode::Char('5')));
    let top = |app: &App| app.stack_views().map(|v| v.stacks.rows[0].count);
    assert_eq!(top(&app), Some(54));
    app.update(Msg::Events(service_events(), 0));
    app.update(Msg::Tick(Stats::default()));
    app.refresh_stack_views();
    assert_eq!(top(&app), Some(108));
    // A filter narrows the view too.
    app.update(key(KeyCode::Char('f')));
    for c in "type=exec".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    app.update(key(KeyCode::Enter));
    app.refresh_stack_views();
    assert_eq!(top(&app), Some(8));
}

#[test]
fn a_replays_copies_of_one_stack_are_kept_once() {
    // A recording gives every event its own copy of its stacks.
    let events: Vec<_> = service_events()
        .into_iter()
        .map(|mut event| {
            event.stacks = event.stacks.map(|s| std::sync::Arc::new((*s).clone()));
            event
        })
        .collect();
    let mut app = App::new(1000, Filter::match_all(), "replay".into());
    app.update(Msg::Events(events, 0));
    let stacks: Vec<_> = app
        .store()
        .iter()
        .filter_map(|(_, e)| e.stacks.clone())
        .collect();
    let distinct: std::collections::HashSet<*const _> =
        stacks.iter().map(std::sync::Arc::as_ptr).collect();
    // Three code paths, and the settings path seen at three addresses (three processes).
    assert_eq!((stacks.len(), distinct.len()), (88, 5));
}

#[test]
fn events_symbolized_after_a_drill_in_join_their_stack() {
    let mut app = app();
    app.update(key(KeyCode::Char('5')));
    app.update(key(KeyCode::Enter));
    assert_eq!(app.visible().len(), 54);
    // One more failed open of the settings, whose stack comes after it.
    let mut late = service_events().remove(0);
    let stacks = late.stacks.take().expect("the fixture's stacks");
    late.ustack = vec![0x5500_0000_1000].into();
    let id = app.store().next_id();
    app.update(Msg::Events(vec![late], 0));
    assert_eq!(app.visible().len(), 54, "not yet known to be of this stack");
    app.update(Msg::Stacks(vec![(id, (*stacks).clone())]));
    app.update(Msg::Tick(Stats::default()));
    assert_eq!(app.visible().len(), 55);
}

#[test]
fn esc_in_another_view_clears_a_stack_scope_and_stays() {
    let mut app = app();
    app.update(key(KeyCode::Char('5')));
    app.update(key(KeyCode::Enter));
    assert!(app.scope().is_some());
    app.update(key(KeyCode::Char('6')));
    app.update(key(KeyCode::Esc));
    assert_eq!((app.view(), app.scope()), (View::Flame, None));
    // Keys of the hidden Events pane move nothing there.
    let cursor = app.cursor();
    app.update(key(KeyCode::Char('G')));
    app.update(key(KeyCode::PageUp));
    app.update(key(KeyCode::Char('n')));
    assert_eq!(app.cursor(), cursor);
}

#[test]
fn a_long_who_is_cut_to_its_column_with_a_mark() {
    let who = "systemd-journal ×12, NetworkManager ×3".to_owned();
    assert_eq!(super::fit(who, 24), "systemd-journal ×12, Ne…");
    assert_eq!(super::fit("svc ×54".to_owned(), 24), "svc ×54");
}

//! The help screen and the dispatcher read one table of bindings: every binding is on the
//! help screen, and a key the table does not name does nothing anywhere.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::tests::screen;
use crate::app::bindings::{BINDINGS, Key, keys_label};
use crate::app::{App, Msg, Stats};
use crate::stacks::fixtures::service_events;

fn app(width: u16, height: u16) -> App {
    let mut app = super::tests::live_app(width, height);
    app.update(Msg::Events(service_events(), 0));
    app.update(Msg::Tick(Stats::default()));
    app
}

fn press(app: &mut App, code: KeyCode, modifiers: KeyModifiers) {
    app.update(Msg::Key(KeyEvent::new(code, modifiers)));
}

#[test]
fn the_help_screen_lists_every_binding() {
    let text: String = super::help::lines()
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    for binding in BINDINGS {
        let keys = keys_label(binding);
        assert!(
            text.lines()
                .any(|line| line.contains(&keys) && line.contains(binding.help)),
            "the help screen lacks `{keys}  {}`:\n{text}",
            binding.help
        );
    }
}

#[test]
fn a_small_terminal_scrolls_the_help_to_its_last_line() {
    let (width, height) = (80, 24);
    let mut app = app(width, height);
    press(&mut app, KeyCode::Char('?'), KeyModifiers::NONE);
    let first_screen = screen(&mut app, width, height);
    assert!(
        first_screen.contains("Keys ("),
        "no scroll position:\n{first_screen}"
    );
    let help_lines = super::help::lines().len();
    for _ in 0..help_lines {
        press(&mut app, KeyCode::Down, KeyModifiers::NONE);
    }
    let scrolled = screen(&mut app, width, height);
    assert!(app.show_help(), "scrolling closed the help");
    let last_help = super::help::lines().last().expect("lines").to_string();
    assert!(
        scrolled.contains(last_help.trim()),
        "the help's last line `{last_help}` never came into view:\n{scrolled}"
    );
    assert_ne!(first_screen, scrolled);
    press(&mut app, KeyCode::Char('x'), KeyModifiers::NONE);
    assert!(!app.show_help(), "a key the help does not use closes it");
}

/// Every key the table does not name, in every view and pane: nothing changes, no frame.
#[test]
fn keys_outside_the_table_do_nothing() {
    let bound = |code: KeyCode, modifiers: KeyModifiers| {
        Key::of(&KeyEvent::new(code, modifiers))
            .is_some_and(|key| BINDINGS.iter().any(|b| b.keys.contains(&key)))
    };
    let mut candidates: Vec<(KeyCode, KeyModifiers)> = (' '..='~')
        .map(|c| (KeyCode::Char(c), KeyModifiers::NONE))
        .chain(('a'..='z').map(|c| (KeyCode::Char(c), KeyModifiers::CONTROL)))
        .collect();
    candidates.extend(
        [
            KeyCode::Backspace,
            KeyCode::Delete,
            KeyCode::Insert,
            KeyCode::F(1),
            KeyCode::F(5),
        ]
        .map(|code| (code, KeyModifiers::NONE)),
    );
    let unbound: Vec<_> = candidates
        .into_iter()
        .filter(|&(code, modifiers)| !bound(code, modifiers))
        .collect();
    assert!(
        unbound.len() > 40,
        "too few unbound keys to try: {unbound:?}"
    );
    // The Events view, Processes focused, each stack view, zoomed details.
    let setups: [&[char]; 5] = [&[], &['\t'], &['5'], &['6'], &['7']];
    for setup in setups {
        let mut app = app(150, 36);
        for &c in setup {
            let code = if c == '\t' {
                KeyCode::Tab
            } else {
                KeyCode::Char(c)
            };
            press(&mut app, code, KeyModifiers::NONE);
        }
        let before = screen(&mut app, 150, 36);
        app.take_dirty();
        for &(code, modifiers) in &unbound {
            press(&mut app, code, modifiers);
            assert!(
                !app.take_dirty(),
                "after {setup:?}, the unbound {code:?} {modifiers:?} asked for a frame"
            );
        }
        assert_eq!(before, screen(&mut app, 150, 36), "after {setup:?}");
    }
}

/// The footer hints at what works where the focus is: Enter scopes in Processes, zooms in
/// the flame graph, opens details in Events.
#[test]
fn the_key_hints_follow_the_focused_pane_and_view() {
    let mut app = app(200, 36);
    let footer = |app: &mut App| {
        let text = screen(app, 200, 36);
        text.lines().last().unwrap_or_default().to_owned()
    };
    assert!(
        footer(&mut app).contains("Enter details"),
        "{}",
        footer(&mut app)
    );
    press(&mut app, KeyCode::Tab, KeyModifiers::NONE);
    assert!(
        footer(&mut app).contains("Enter scope"),
        "{}",
        footer(&mut app)
    );
    press(&mut app, KeyCode::Char('6'), KeyModifiers::NONE);
    let flame = footer(&mut app);
    assert!(
        flame.contains("Enter zoom") && flame.contains("caller"),
        "{flame}"
    );
    assert!(
        !flame.contains("/ search"),
        "the flame graph has no search: {flame}"
    );
}

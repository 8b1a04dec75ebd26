//! Processes that ended badly, as a person meets them: red in the Events pane with how they
//! ended, and counted in the Failures view beside the syscalls that failed.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

use super::events::result_text;
use super::tests::event;
use crate::app::{App, Msg, Stats};
use crate::model::Event;
use crate::model::event::{Details, Exit};

fn exit(status: i32) -> Details {
    Details::Exit(Exit {
        status,
        lifetime_ns: 3_000_000,
    })
}

/// `ok` exits with 0, `job` with 1, `crash` is killed by SIGSEGV.
fn exits() -> Vec<Event> {
    vec![
        event(1, 300, 1, "ok", exit(0)),
        event(2, 301, 1, "job", exit(1 << 8)),
        event(3, 302, 1, "crash", exit(libc::SIGSEGV)),
    ]
}

fn app() -> App {
    let mut app = super::tests::live_app(160, 20);
    app.update(Msg::Events(exits(), 0));
    app.update(Msg::Tick(Stats::default()));
    app
}

fn draw(app: &mut App) -> Terminal<TestBackend> {
    app.refresh_stack_views();
    let mut terminal = Terminal::new(TestBackend::new(160, 20)).unwrap();
    terminal.draw(|frame| super::draw(frame, app)).unwrap();
    terminal
}

/// The colour of the row that shows `needle`, at its first character.
fn colour_of(terminal: &Terminal<TestBackend>, needle: &str) -> Color {
    let buffer = terminal.backend().buffer();
    for y in 0..buffer.area.height {
        let line: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol())
            .collect();
        if let Some(at) = line.find(needle) {
            let x = line[..at].chars().count() as u16;
            return buffer[(x, y)].fg;
        }
    }
    panic!("no row shows {needle:?}:\n{}", terminal.backend());
}

#[test]
fn the_result_column_says_how_a_process_ended() {
    assert_eq!(result_text(&exit(0)), "");
    assert_eq!(result_text(&exit(1 << 8)), "✗ exit 1");
    assert_eq!(result_text(&exit(libc::SIGSEGV)), "✗ SIGSEGV");
    assert_eq!(result_text(&exit(libc::SIGKILL | 0x80)), "✗ SIGKILL");
    assert_eq!(result_text(&exit(40)), "✗ SIG40");
}

#[test]
fn an_exit_with_a_code_or_a_signal_is_red_in_the_events_pane() {
    let mut app = app();
    let terminal = draw(&mut app);
    let text = terminal.backend().to_string();
    assert!(text.contains("✗ exit 1"), "{text}");
    assert!(text.contains("killed by SIGSEGV after 3.0 ms"), "{text}");
    assert_eq!(colour_of(&terminal, "code 1 after"), Color::Red);
    assert_eq!(colour_of(&terminal, "killed by SIGSEGV"), Color::Red);
    assert_ne!(colour_of(&terminal, "code 0 after"), Color::Red);
}

#[test]
fn the_failures_view_lists_processes_that_exited_badly() {
    let mut app = app();
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('7'),
        KeyModifiers::NONE,
    )));
    let terminal = draw(&mut app);
    let text = terminal.backend().to_string();
    assert!(text.contains("2 failed of 3 events"), "{text}");
    assert!(text.contains("exit 1 ← "), "{text}");
    assert!(text.contains("exit SIGSEGV ← "), "{text}");
    assert_eq!(colour_of(&terminal, "exit 1 ← "), Color::Red);
}

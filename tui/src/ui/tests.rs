//! Snapshot tests: the App is built only through `update` with synthetic events, drawn into a
//! TestBackend, and compared with the reviewed snapshots in ui/snapshots/.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, UNIX_EPOCH};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use crate::app::{App, Msg, Stats};
use crate::filter::Filter;
use crate::model::event::*;
use crate::model::frame::{Fold, Frame, InlinedFrame, StackEnd, Stacks, Unresolved};
use crate::model::{Event, EventKind};

pub(super) fn event(seq: u64, pid: u32, ppid: u32, comm: &str, details: Details) -> Event {
    Event {
        time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_000 + seq * 7),
        mono_ns: seq,
        cpu: 0,
        pid,
        tid: pid,
        ppid,
        uid: 0,
        start_ns: u64::from(pid) * 1000,
        comm: comm.as_bytes().to_vec().into(),
        cgroup_id: 0,
        cgroup: None,
        stack_mono_ns: seq,
        ustack: vec![0x401000, 0x402000, 0x403000].into(),
        kstack: Box::default(),
        stacks: None,
        host: crate::model::host::HostId::LOCAL,
        details,
    }
}

fn sample_events() -> Vec<Event> {
    let open = |path: &str, ret| {
        Details::Open(Open {
            abs_path: None,
            path: path.as_bytes().to_vec().into(),
            path_truncated: false,
            dfd: -100,
            flags: 0o2000000,
            mode: 0,
            ret,
            latency_ns: 4_000,
            syscall: crate::model::event::OpenSyscall::Openat,
        })
    };
    let addrs = SockAddrs {
        local: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 40112)),
        remote: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), 443)),
    };
    vec![
        event(
            1,
            100,
            1,
            "bash",
            Details::Fork(Fork {
                child_pid: 200,
                clone_flags: 0,
            }),
        ),
        event(
            2,
            200,
            100,
            "curl",
            Details::Exec(Exec {
                abs_filename: None,
                filename: b"/usr/bin/curl".to_vec().into(),
                filename_truncated: false,
                argv: vec![
                    b"curl".to_vec().into(),
                    b"-s".to_vec().into(),
                    b"https://example.test/".to_vec().into(),
                ],
                argv_truncated: false,
                argv_unreadable: false,
                ret: 0,
            }),
        ),
        event(3, 200, 100, "curl", open("/etc/ssl/certs/ca.pem", 3)),
        event(4, 200, 100, "curl", open("/home/user/.curlrc", -2)),
        event(
            5,
            200,
            100,
            "curl",
            Details::Connect(SockInfo {
                addrs: addrs.clone(),
                ret: -111,
                fd: 4,
                latency_ns: 90_000,
                socket: Socket::tcp(false),
            }),
        ),
        event(6, 300, 1, "\x1b[2Jevil", open("/tmp/\x1b]0;pwned\x07", 5)),
        event(
            7,
            200,
            100,
            "curl",
            Details::Exit(Exit {
                status: 7 << 8,
                lifetime_ns: 42_000_000,
            }),
        ),
    ]
}

fn symbolized() -> Stacks {
    Stacks {
        user: vec![
            Frame {
                addr: 0x401000,
                symbol: Some("inner_open".into()),
                offset: Some(0x46),
                module: Some("/usr/bin/curl".into()),
                file: Some("/src/curl/tool.c".into()),
                line: Some(27),
                column: Some(12),
                inlined: vec![InlinedFrame {
                    symbol: "raw_syscall".into(),
                    file: Some("/src/curl/sys.h".into()),
                    line: Some(22),
                    column: None,
                }],
                ..Frame::default()
            },
            Frame {
                addr: 0x402000,
                symbol: Some("main".into()),
                offset: Some(0x53),
                module: Some("/usr/bin/curl".into()),
                file: Some("/src/curl/tool.c".into()),
                line: Some(67),
                ..Frame::default()
            },
            Frame::unresolved(0x403000, Unresolved::NoSymbols),
        ],
        kernel: vec![
            Frame {
                addr: 0xffff_ffff_8100_0000,
                symbol: Some("do_sys_openat2".into()),
                offset: Some(0x9c),
                ..Frame::default()
            },
            Frame {
                addr: 0xffff_ffff_8100_1000,
                symbol: Some("do_syscall_64".into()),
                folded: Some(Fold::SyscallEntry),
                ..Frame::default()
            },
            Frame {
                addr: 0xffff_ffff_8100_2000,
                symbol: Some("entry_SYSCALL_64".into()),
                folded: Some(Fold::SyscallEntry),
                ..Frame::default()
            },
        ],
        user_end: Some(StackEnd::Complete),
    }
}

/// An app over a live run, in a `width` x `height` terminal.
pub(super) fn live_app(width: u16, height: u16) -> App {
    let mut app = App::new(1000, Filter::match_all(), "live".into());
    app.update(Msg::Resize(width, height));
    app
}

fn app() -> App {
    let mut app = live_app(120, 40);
    app.update(Msg::Events(sample_events(), 0));
    let mut stats = Stats {
        cpu_percent: 1.5,
        ..Stats::default()
    };
    stats.kernel_drops.insert(EventKind::Open, 12);
    app.update(Msg::Tick(stats));
    app
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The screen as the app draws it at `width` x `height`: the ui tests' one way to look.
pub(super) fn screen(app: &mut App, width: u16, height: u16) -> String {
    app.refresh_stack_views();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| super::draw(frame, app)).unwrap();
    terminal.backend().to_string()
}

#[test]
fn whole_screen_follows_the_newest_event() {
    insta::assert_snapshot!(screen(&mut app(), 120, 40));
}

#[test]
fn details_show_fields_argv_and_folded_symbolized_stacks() {
    let mut app = app();
    // Select the open of /etc/ssl/certs/ca.pem (the third event) and symbolize it.
    app.update(key(KeyCode::Char('g')));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    let id = app.selected_id().unwrap();
    let mut stacks = symbolized();
    stacks.kernel.truncate(3);
    app.update(Msg::Stacks(vec![(id, stacks)]));
    app.update(key(KeyCode::Enter));
    insta::assert_snapshot!(screen(&mut app, 100, 36));
}

#[test]
fn hostile_names_are_escaped_on_screen() {
    let text = screen(&mut app(), 120, 40);
    assert!(!text.contains('\x1b'), "a raw escape reached the screen");
    assert!(text.contains("\\e[2Jevil"));
}

#[test]
fn a_bad_filter_is_shown_with_its_column_and_the_old_one_stays() {
    let mut app = app();
    for msg in [key(KeyCode::Char('f'))]
        .into_iter()
        .chain("type=open".chars().map(|c| key(KeyCode::Char(c))))
        .chain([key(KeyCode::Enter), key(KeyCode::Char('f'))])
        .chain(" and pdi=3".chars().map(|c| key(KeyCode::Char(c))))
        .chain([key(KeyCode::Enter)])
    {
        app.update(msg);
    }
    assert_eq!(app.filter().text(), "type=open");
    assert!(
        app.visible()
            .iter()
            .all(|id| app.store().get(*id).unwrap().kind() == EventKind::Open)
    );
    insta::assert_snapshot!(screen(&mut app, 120, 12));
}

#[test]
fn processes_scope_the_events_to_a_subtree() {
    let mut app = app();
    app.update(key(KeyCode::Tab));
    // The tree is: 1? no — roots are processes whose parent is unknown: bash (100) and 300.
    app.update(key(KeyCode::Char('g')));
    app.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    let pids: Vec<u32> = app
        .visible()
        .iter()
        .map(|id| app.store().get(*id).unwrap().pid)
        .collect();
    assert!(
        !pids.is_empty() && pids.iter().all(|pid| [100, 200].contains(pid)),
        "{pids:?}"
    );
    insta::assert_snapshot!(screen(&mut app, 120, 24));
}

#[test]
fn help_lists_every_key() {
    let mut app = app();
    app.update(key(KeyCode::Char('?')));
    insta::assert_snapshot!(screen(&mut app, 100, 30));
}

#[test]
fn tiny_and_odd_sizes_never_panic() {
    let mut app = app();
    for (width, height) in [(1, 1), (10, 5), (40, 10), (79, 23), (99, 60), (300, 100)] {
        app.update(Msg::Resize(width, height));
        app.update(key(KeyCode::Enter));
        let _ = screen(&mut app, width, height);
        app.update(key(KeyCode::Enter));
        let _ = screen(&mut app, width, height);
    }
}

#[test]
fn r_asks_to_record_and_marks_only_what_the_filter_passes() {
    use crate::app::{Action, RecordingStatus};
    let mut app = App::new(1000, Filter::parse("type=open").unwrap(), "live".into());
    assert_eq!(
        app.update(key(KeyCode::Char('r'))),
        vec![Action::ToggleRecording]
    );
    // The runner starts the recording and says so.
    app.set_recording(Some(RecordingStatus {
        path: "ringside-test.rsrec".into(),
        events: 0,
    }));
    app.update(Msg::Events(sample_events(), 0));
    let kinds: Vec<EventKind> = app
        .take_to_record()
        .iter()
        .map(|id| app.store().get(*id).unwrap().kind())
        .collect();
    assert_eq!(kinds, vec![EventKind::Open; 3]);
    assert!(screen(&mut app, 120, 10).contains("● REC ringside-test.rsrec"));
}

#[test]
fn a_click_selects_the_row_drawn_under_it() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let click = |column, row| {
        Msg::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    let mut app = app();
    let text = screen(&mut app, 120, 40);
    let line = |needle: &str| {
        let index = text.lines().position(|l| l.contains(needle)).unwrap();
        u16::try_from(index).unwrap()
    };
    app.update(click(40, line("/home/user/.curlrc")));
    let selected = app.selected().unwrap();
    assert_eq!(selected.summary(), "/home/user/.curlrc");
    // The Processes pane sits on the right at this width.
    app.update(click(100, line("300 \\e[2Jevil")));
    assert_eq!(app.selected_process(), Some(300));
}

fn lookup(seq: u64, query: &str, rcode: u8, answers: &[&str]) -> Event {
    let addrs = SockAddrs {
        local: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)), 51000)),
        remote: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 53)), 53)),
    };
    event(
        seq,
        200,
        100,
        "curl",
        Details::Dns(Box::new(Dns {
            addrs,
            id: 1,
            query: query.to_owned(),
            qtype: 1,
            outcome: DnsOutcome::Answered(rcode),
            answers: answers.iter().map(|a| (*a).to_owned()).collect(),
            answers_cut: false,
            latency_ns: Some(12_000_000),
        })),
    )
}

#[test]
fn a_dns_lookup_is_one_row_and_nxdomain_is_red() {
    let mut app = live_app(200, 12);
    app.update(Msg::Events(
        vec![
            lookup(1, "example.com", 0, &["93.184.216.34"]),
            lookup(2, "nope.example", 3, &[]),
        ],
        0,
    ));
    let mut terminal = Terminal::new(TestBackend::new(200, 12)).unwrap();
    terminal.draw(|frame| super::draw(frame, &app)).unwrap();
    let buffer = terminal.backend().buffer();
    let row_of = |needle: &str| {
        (0..buffer.area.height)
            .find(|&y| {
                let line: String = (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect();
                line.contains(needle)
            })
            .unwrap_or_else(|| panic!("no row shows {needle:?}:\n{}", terminal.backend()))
    };
    let found = row_of("A example.com → 93.184.216.34 (12 ms)");
    let failed = row_of("A nope.example NXDOMAIN (12 ms)");
    let colour = |y: u16| buffer[(12, y)].fg;
    assert_eq!(colour(failed), ratatui::style::Color::Red);
    assert_ne!(colour(found), ratatui::style::Color::Red);
    let text = terminal.backend().to_string();
    assert!(text.contains("✗ NXDOMAIN"), "{text}");
}

/// Two services and a container, each with a process or two, and a process of none.
fn unit_events() -> Vec<Event> {
    let in_unit = |seq: u64, pid: u32, comm: &str, path: &str| {
        let mut e = event(
            seq,
            pid,
            1,
            comm,
            Details::Exit(Exit {
                status: 0,
                lifetime_ns: 1_000_000,
            }),
        );
        e.cgroup_id = 1000 + u64::from(pid);
        e.cgroup = Some(std::sync::Arc::new(crate::cgroups::CgroupInfo::of_path(
            path,
        )));
        e
    };
    let id = "4f1b2c3d5e6f7a8b".repeat(4);
    vec![
        in_unit(1, 10, "nginx", "/system.slice/nginx.service"),
        in_unit(2, 11, "nginx", "/system.slice/nginx.service"),
        in_unit(3, 20, "postgres", "/system.slice/postgresql.service"),
        in_unit(4, 30, "redis", &format!("/system.slice/docker-{id}.scope")),
        event(
            5,
            40,
            1,
            "loose",
            Details::Exit(Exit {
                status: 0,
                lifetime_ns: 1,
            }),
        ),
    ]
}

#[test]
fn processes_group_by_unit_and_enter_scopes_every_pane_to_one() {
    let mut app = live_app(160, 30);
    app.update(Msg::Events(unit_events(), 0));
    app.update(key(KeyCode::Tab));
    app.update(key(KeyCode::Char('u')));
    // Units in order, each with its processes; the process of no unit last.
    let grouped = screen(&mut app, 160, 30);
    for line in ["▾ docker:4f1b2c3d5e6f", "▾ nginx.service", "▾ (no unit)"] {
        assert!(grouped.contains(line), "{line} missing:\n{grouped}");
    }
    // The second heading (after docker's and its process) is nginx.service: Enter scopes
    // every pane to it.
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Down));
    app.update(key(KeyCode::Enter));
    app.update(key(KeyCode::Char('c')));
    assert_eq!(
        app.scope(),
        Some(&crate::app::Scope::Unit("nginx.service".into()))
    );
    assert_eq!(app.visible().len(), 2, "only nginx's two events");
    insta::assert_snapshot!(screen(&mut app, 160, 30));
    // Esc returns to everything.
    app.update(key(KeyCode::Esc));
    assert_eq!(app.visible().len(), 5);
}

#[test]
fn c_toggles_the_unit_column() {
    let mut app = live_app(120, 20);
    app.update(Msg::Events(unit_events(), 0));
    assert!(
        !screen(&mut app, 120, 20).contains("UNIT"),
        "no room for it"
    );
    app.update(key(KeyCode::Char('c')));
    let shown = screen(&mut app, 120, 20);
    assert!(shown.contains("UNIT"), "{shown}");
    assert!(shown.contains("postgresql.service"), "{shown}");
}

#[test]
fn s_sorts_the_processes_by_events_failures_rate_and_name() {
    let mut app = app();
    app.update(key(KeyCode::Tab));
    let pids = |app: &App| -> Vec<u32> {
        app.process_rows()
            .into_iter()
            .filter_map(|row| match row {
                crate::app::ProcessRow::Process { pid, .. } => Some(pid),
                crate::app::ProcessRow::Unit(_) => None,
            })
            .collect()
    };
    app.update(key(KeyCode::Char('s')));
    // curl (200) has the most events, then bash (100) and 300.
    assert_eq!(pids(&app)[0], 200, "by events");
    assert!(screen(&mut app, 120, 40).contains("Processes 3 by events"));
    app.update(key(KeyCode::Char('s')));
    // Failures: curl's ENOENT open and refused connect.
    assert_eq!(pids(&app)[0], 200, "by failures");
    app.update(key(KeyCode::Char('s')));
    app.update(key(KeyCode::Char('s')));
    // By name: bash, curl, then the escape-named one.
    assert_eq!(pids(&app), [300, 100, 200], "by name (bytes order)");
    app.update(key(KeyCode::Char('s')));
    assert!(
        !screen(&mut app, 120, 40).contains("Processes 3 by "),
        "back to the tree"
    );
}

#[test]
fn search_finds_an_event_by_a_function_of_its_stack() {
    let mut app = app();
    // Symbolize the first event only: its stack passes through inner_open and raw_syscall.
    app.update(key(KeyCode::Char('g')));
    let first = app.selected_id().unwrap();
    app.update(Msg::Stacks(vec![(first, symbolized())]));
    app.update(key(KeyCode::Char('G')));
    for msg in [key(KeyCode::Char('/'))]
        .into_iter()
        .chain("raw_syscall".chars().map(|c| key(KeyCode::Char(c))))
        .chain([key(KeyCode::Enter)])
    {
        app.update(msg);
    }
    assert_eq!(app.selected_id(), Some(first));
}

#[test]
fn a_long_details_pane_has_a_scrollbar() {
    let mut app = app();
    app.update(key(KeyCode::Char('g')));
    let id = app.selected_id().unwrap();
    app.update(Msg::Stacks(vec![(id, symbolized())]));
    let text = screen(&mut app, 120, 40);
    // The pane holds fewer lines than the event has: the bar's arrows show.
    assert!(text.contains('▼') && text.contains('▲'), "{text}");
    insta::assert_snapshot!(text);
}

/// The RESULT column: a failure marked with its errno name, a non-blocking connect's "not
/// yet" named but not marked, an fd as its number.
#[test]
fn the_result_column_marks_failures_and_names_not_yet() {
    let connect = crate::model::sample::connect;
    use super::events::result_text;
    assert_eq!(result_text(&connect(-libc::EINPROGRESS)), "EINPROGRESS");
    assert_eq!(result_text(&connect(-libc::ECONNREFUSED)), "✗ ECONNREFUSED");
    assert_eq!(result_text(&connect(0)), "0");
}

/// A fleet's hosts line: a live host with its rate and lag, one connecting, one failed with
/// ssh's reason and its next attempt, drops and a clock that is off flagged.
#[test]
fn the_hosts_line_says_how_each_host_is() {
    use crate::fleet::{HostLine, HostState};
    use crate::model::host::HostId;
    let line = |label: &str, state: HostState| HostLine {
        host: HostId::intern(label),
        label: label.into(),
        state,
        came_up: true,
        delivered: 0,
        rate: 0,
        drops: Default::default(),
        skew_ms: 0,
        lag_ms: None,
        warning: None,
        note: None,
    };
    let mut web1 = line("web1", HostState::Live);
    web1.rate = 120;
    web1.lag_ms = Some(35);
    web1.drops.insert("open".into(), 3);
    let mut db = line("db", HostState::Connecting);
    db.skew_ms = 1_500;
    let web2 = line(
        "web2",
        HostState::Retrying {
            reason: "ssh: connect to host web2 port 22: Connection refused".into(),
            retry: Duration::from_secs(4),
        },
    );
    let mut app = App::new(100, Filter::match_all(), "live".into());
    app.update(Msg::Hosts(vec![web1, db, web2]));
    let shown = screen(&mut app, 200, 12);
    for expected in [
        "web1 ● 120/s lag 35 ms ✗3",
        "db … connecting clock +1.5s",
        "web2 ✗ ssh: connect to host web2 port 22: Connection refused; again in 4 s",
    ] {
        assert!(shown.contains(expected), "{expected:?} not in\n{shown}");
    }
}

/// `--otlp --tui`: the status bar counts what went out, what was lost, and says when a batch
/// waits to be sent again.
#[test]
fn the_status_bar_counts_the_export() {
    use crate::otlp::OtlpCounts;
    use crate::otlp::beside_tui::OtlpStatus;
    let mut app = live_app(200, 12);
    let status = |retrying| OtlpStatus {
        counts: OtlpCounts {
            sent: 1200,
            retried: 3,
            rejected: 2,
            dropped_queue_full: 40,
            dropped_at_exit: 0,
        },
        retrying,
    };
    app.update(Msg::Tick(Stats {
        otlp: Some(status(true)),
        ..Stats::default()
    }));
    let shown = screen(&mut app, 200, 12);
    assert!(
        shown.contains("otlp ✓1200 ✗dropped 40 ✗rejected 2 retrying"),
        "{shown}"
    );
    app.update(Msg::Tick(Stats {
        otlp: Some(status(false)),
        ..Stats::default()
    }));
    assert!(!screen(&mut app, 200, 12).contains("retrying"));
    app.update(Msg::Tick(Stats::default()));
    assert!(!screen(&mut app, 200, 12).contains("otlp"));
}

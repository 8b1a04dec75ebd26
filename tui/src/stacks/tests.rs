use std::sync::Arc;

use super::fixtures::{self, service_events};
use super::stack_key::{FrameKey, StackKey};
use super::*;
use crate::model::EventKind;

pub(super) fn build(events: &[crate::model::Event], grouping: Grouping) -> (StackViews, StackKeys) {
    let mut keys = StackKeys::new(grouping);
    let views = StackViews::build(
        events.iter().enumerate().map(|(i, e)| (i as u64, e)),
        &mut keys,
        StackSort::Count,
    );
    (views, keys)
}

fn frame_of(keys: &StackKeys, row: &StackRow) -> String {
    let info = keys.info(row.key);
    match info.key.placeholder() {
        Some(placeholder) => placeholder.to_owned(),
        None => info
            .frame
            .as_ref()
            .map(|f| f.name.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn one_code_path_is_one_row_across_processes_and_addresses() {
    let events = service_events();
    let (views, keys) = build(&events, Grouping::default());
    let rows: Vec<(String, u64, usize, u64)> = views
        .stacks
        .rows
        .iter()
        .map(|r| (frame_of(&keys, r), r.count, r.processes, r.failures))
        .collect();
    assert_eq!(
        rows,
        [
            ("read_settings".to_owned(), 54, 3, 54),
            ("load_plugins".to_owned(), 30, 1, 2),
            ("spawn_worker".to_owned(), 4, 4, 0),
            ("[unsymbolized]".to_owned(), 2, 1, 0),
        ]
    );
    assert_eq!(views.stacks.events, 90);
    let settings = &views.stacks.rows[0];
    assert_eq!(
        settings.commonest_failure.map(|(f, n)| (f.name(), n)),
        Some(("ENOENT".to_owned(), 54))
    );
    let plugins = &views.stacks.rows[1];
    assert_eq!(
        (
            plugins.kinds[0].kind,
            plugins.kinds[0].events,
            plugins.kinds[0].failed
        ),
        (EventKind::Open, 30, 2)
    );
    // The newest event of a row is the one the Details pane shows.
    assert_eq!(settings.newest, 53);
}

#[test]
fn the_interesting_frame_skips_libc_and_names_its_caller() {
    let events = service_events();
    let (_, mut keys) = build(&events, Grouping::default());
    let id = keys.id_of(&events[0]);
    let info = keys.info(id);
    let name = |f: &Option<FrameKey>| f.as_ref().map(|f| f.name.to_string());
    assert_eq!(
        (name(&info.frame), name(&info.caller)),
        (Some("read_settings".into()), Some("start_service".into()))
    );
    // The syscall entry and tracing frames are in no key: every stack has them.
    assert!(info.key.frames().iter().all(|f| !f.kernel));
}

#[test]
fn groupings_merge_by_user_stack_or_innermost_frames() {
    let events = service_events();
    // The innermost frame: both kinds of open end in libc's __open64; the execs in the
    // kernel's exec path.
    let innermost = Grouping {
        user_only: false,
        innermost: Some(1),
    };
    let (views, keys) = build(&events, innermost);
    let rows: Vec<(String, u64)> = views
        .stacks
        .rows
        .iter()
        .map(|r| {
            (
                keys.info(r.key)
                    .key
                    .frames()
                    .first()
                    .map(|f| f.name.to_string())
                    .unwrap_or_default(),
                r.count,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("__open64".to_owned(), 84),
            ("bprm_execve".to_owned(), 4),
            (String::new(), 2),
        ]
    );
    let user_innermost = Grouping {
        user_only: true,
        innermost: Some(1),
    };
    let (views, keys) = build(&events, user_innermost);
    let exec = views
        .stacks
        .rows
        .iter()
        .find(|r| r.count == 4)
        .expect("the execs' row");
    assert_eq!(&*keys.info(exec.key).key.frames()[0].name, "execve");
}

#[test]
fn plus_and_minus_step_through_frame_counts_and_back_to_whole_stacks() {
    let whole = Grouping::default();
    let fewer = whole.fewer(6);
    assert_eq!(fewer.innermost, Some(5));
    assert_eq!(
        fewer.fewer(6).fewer(6).fewer(6).fewer(6).fewer(6).innermost,
        Some(1)
    );
    assert_eq!(fewer.more(6).innermost, None);
    assert_eq!(whole.more(6), whole);
    assert_eq!(fewer.describe(), "whole stacks, innermost 5 frames");
    // A deep stack (a shell's recursion) gets there in bigger steps.
    let deep: Vec<Option<usize>> = std::iter::successors(Some(whole.fewer(114)), |g| {
        (g.innermost != Some(1)).then(|| g.fewer(114))
    })
    .map(|g| g.innermost)
    .collect();
    assert_eq!(deep.len(), 12, "{deep:?}");
    assert_eq!(deep[0], Some(32));
    let widest = Grouping {
        innermost: Some(32),
        ..whole
    };
    assert_eq!(widest.more(114).innermost, None);
}

#[test]
fn failures_come_grouped_by_kind_error_and_frame_largest_first() {
    let events = service_events();
    let (views, _) = build(&events, Grouping::default());
    let rows: Vec<(String, u64, usize)> = views
        .failures
        .rows
        .iter()
        .map(|r| (r.describe(), r.count, r.processes))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "open ENOENT ← read_settings ← start_service".to_owned(),
                54,
                3
            ),
            (
                "open EACCES ← load_plugins ← start_service".to_owned(),
                2,
                1
            ),
        ]
    );
    assert_eq!(views.failures.events, 56);
}

#[test]
fn the_flame_graph_adds_up_and_splits_failures_at_the_leaves() {
    let events = service_events();
    let (views, _) = build(&events, Grouping::default());
    let tree = &views.flame;
    assert_eq!(tree.nodes[flame::ROOT].count, 90);
    let names = |path: &[&str]| -> Vec<(Arc<str>, NodeKind)> {
        let mut at = flame::ROOT;
        path.iter()
            .map(|name| {
                at = tree.nodes[at]
                    .children
                    .iter()
                    .copied()
                    .find(|&c| &*tree.nodes[c].name == *name)
                    .unwrap_or_else(|| panic!("no {name} under {}", tree.nodes[at].name));
                (Arc::clone(&tree.nodes[at].name), tree.nodes[at].kind)
            })
            .collect()
    };
    let plugins = tree.find(&names(&["main", "start_service", "load_plugins"]));
    assert_eq!(tree.nodes[plugins].count, 30);
    let leaves: Vec<(String, u64, NodeKind)> = tree.nodes[tree.nodes[plugins].children[0]]
        .children
        .iter()
        .map(|&c| {
            (
                tree.nodes[c].name.to_string(),
                tree.nodes[c].count,
                tree.nodes[c].kind,
            )
        })
        .collect();
    assert_eq!(
        leaves,
        [
            ("open".to_owned(), 28, NodeKind::Event),
            ("open ✗".to_owned(), 2, NodeKind::Failed),
        ]
    );
    let exec_path = names(&[
        "main",
        "spawn_worker",
        "execve",
        "do_execveat_common",
        "bprm_execve",
        "exec",
    ]);
    assert_eq!(exec_path[3].1, NodeKind::Kernel);
    assert_eq!(tree.nodes[tree.find(&exec_path)].count, 4);
    // Every node's children add up to it.
    for node in &tree.nodes {
        if !node.children.is_empty() {
            let sum: u64 = node.children.iter().map(|&c| tree.nodes[c].count).sum();
            assert_eq!(sum, node.count, "{}", node.name);
        }
    }
}

#[test]
fn the_icicle_shares_columns_by_count() {
    let events = service_events();
    let (views, _) = build(&events, Grouping::default());
    let tree = &views.flame;
    let placed = tree.layout(flame::ROOT, 90, 3);
    let width_of = |name: &str| {
        placed
            .iter()
            .find(|p| &*tree.nodes[p.node].name == name)
            .map(|p| p.x1 - p.x0)
    };
    assert_eq!(width_of("all"), Some(90));
    assert_eq!(width_of("main"), Some(88));
    assert_eq!(width_of("[unsymbolized]"), Some(2));
    assert_eq!(width_of("start_service"), Some(84));
    // Three rows asked for: nothing deeper is placed.
    assert!(placed.iter().all(|p| p.row < 3));
    assert_eq!(width_of("read_settings"), None);
}

#[test]
fn a_frame_keeps_its_place_when_the_tree_is_rebuilt() {
    let mut events = service_events();
    let (views, _) = build(&events, Grouping::default());
    let start = views
        .flame
        .nodes
        .iter()
        .position(|n| &*n.name == "start_service")
        .unwrap();
    let path = views.flame.path(start);
    events.truncate(40);
    let (rebuilt, _) = build(&events, Grouping::default());
    let found = rebuilt.flame.find(&path);
    assert_eq!(&*rebuilt.flame.nodes[found].name, "start_service");
    assert_eq!(rebuilt.flame.nodes[found].count, 40);
}

#[test]
fn stacks_are_keyed_once_however_many_events_share_them() {
    let events = service_events();
    let mut keys = StackKeys::new(Grouping::default());
    for event in &events {
        keys.id_of(event);
    }
    // Two placeholders, and one key per code path: not one per process or per event.
    assert_eq!(keys.len(), 2 + 3);
    let stacks = Arc::new(fixtures::read_settings(0x30_0000));
    let mut late = events[0].clone();
    late.stacks = Some(Arc::clone(&stacks));
    let id = keys.id_of(&late);
    assert_eq!(id, keys.id_of(&events[0]));
    drop((late, stacks));
    keys.prune();
    assert_eq!(keys.len(), 5, "pruning forgets stacks, not keys");
}

#[test]
fn a_named_frame_comes_before_a_stripped_one_and_callers_differ_by_name() {
    use crate::model::frame::{Frame, Stacks};
    let unnamed = |module: &str, addr| Frame {
        addr,
        module: Some(module.into()),
        ..Frame::default()
    };
    const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    let mut keys = StackKeys::new(Grouping::default());
    let name = |f: &Option<FrameKey>| f.as_ref().map(|f| f.name.to_string());
    // A stripped program: every frame of it is `[/usr/bin/cat]`.
    let stripped = Stacks {
        user: vec![
            fixtures::user("__open64", LIBC, 1),
            unnamed("/usr/bin/cat", 2),
            unnamed("/usr/bin/cat", 3),
            fixtures::user("__libc_start_main", LIBC, 4),
        ],
        ..Stacks::default()
    };
    let id = keys.intern(StackKey::of(&stripped, Grouping::default()));
    let info = keys.info(id);
    assert_eq!(
        (name(&info.frame), name(&info.caller)),
        (
            Some("[/usr/bin/cat]".into()),
            Some("__libc_start_main".into())
        )
    );
    // A stripped plugin called from a program with symbols: the named frame is the one.
    let plugin = Stacks {
        user: vec![
            unnamed("/usr/lib/svc/plugin.so", 1),
            fixtures::user("read_settings", "/usr/sbin/svc", 2),
            fixtures::user("main", "/usr/sbin/svc", 3),
        ],
        ..Stacks::default()
    };
    let id = keys.intern(StackKey::of(&plugin, Grouping::default()));
    assert_eq!(name(&keys.info(id).frame), Some("read_settings".into()));
}

#[test]
fn libc_and_the_loader_are_told_from_programs_named_like_them() {
    use super::stack_key::is_libc;
    for module in [
        "/usr/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/libc-2.31.so",
        "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
        "/lib/ld-musl-x86_64.so.1",
        "/lib/libc.musl-x86_64.so.1",
        "/lib/x86_64-linux-gnu/libpthread.so.0",
        "/lib/x86_64-linux-gnu/libdl-2.31.so",
        "/lib/x86_64-linux-gnu/ld-2.31.so",
    ] {
        assert!(is_libc(module), "{module}");
    }
    for module in [
        "/work/target/screenshots/libc-calls",
        "/usr/bin/libcamera",
        "/usr/lib/libcrypto.so.3",
        "/usr/sbin/ldconfig",
    ] {
        assert!(!is_libc(module), "{module}");
    }
}

#[test]
fn a_socket_not_ready_yet_is_no_failure_and_unsymbolized_failures_stand_apart() {
    let sock = crate::model::sample::connect;
    let mut events = service_events();
    let mut in_progress = events[0].clone();
    in_progress.details = sock(-libc::EINPROGRESS);
    // Not red in the Events pane either, and not marked as an error there.
    assert!(!in_progress.details.failed());
    let mut refused = events[0].clone();
    refused.details = sock(-libc::ECONNREFUSED);
    // A failed open whose stack is not symbolized yet, and one that has no stack at all.
    let mut unsymbolized = events[0].clone();
    unsymbolized.stacks = None;
    unsymbolized.ustack = vec![0x5500_0000_1000].into();
    let mut stackless = unsymbolized.clone();
    stackless.ustack = Box::default();
    events.extend([in_progress, refused, unsymbolized, stackless]);
    let (views, _) = build(&events, Grouping::default());
    let rows: Vec<(String, u64)> = views
        .failures
        .rows
        .iter()
        .map(|r| (r.describe(), r.count))
        .collect();
    assert!(
        rows.contains(&(
            "connect ECONNREFUSED ← read_settings ← start_service".to_owned(),
            1
        )),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("open ENOENT ← [unsymbolized]".to_owned(), 1)),
        "{rows:?}"
    );
    assert!(
        rows.contains(&("open ENOENT ← [no stack]".to_owned(), 1)),
        "{rows:?}"
    );
    assert!(
        !rows.iter().any(|(text, _)| text.contains("EINPROGRESS")),
        "{rows:?}"
    );
}

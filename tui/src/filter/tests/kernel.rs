//! The kernel part: table cases, and the property that makes it safe to use, namely that the
//! kernel never drops an event the filter would show.

use std::collections::{BTreeMap, BTreeSet};

use super::support::{Rng, Tree, event, exec, exit, fork, kernel_admits, open, sock, tcp_close};
use crate::filter::{Filter, KernelPart};
use crate::model::event::{Details, SockAddrs};

fn part(text: &str) -> KernelPart {
    Filter::parse(text)
        .unwrap_or_else(|error| panic!("{text:?}: {error}"))
        .kernel_part()
}

fn set<T: Ord + Clone>(items: &[T]) -> Option<BTreeSet<T>> {
    Some(items.iter().cloned().collect())
}

fn strings(items: &[&str]) -> Option<BTreeSet<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

#[test]
fn table() {
    let none = KernelPart::default();
    let pids = |p: &[u32]| KernelPart {
        pids: set(p),
        ..KernelPart::default()
    };
    let cases: Vec<(&str, KernelPart)> = vec![
        ("", none.clone()),
        ("type=open", none.clone()),
        ("pid=1", pids(&[1])),
        ("pid=1 and type=open", pids(&[1])),
        ("type=open and pid=1 and ret<0", pids(&[1])),
        (
            "tree=5",
            KernelPart {
                tree_roots: set(&[5]),
                ..KernelPart::default()
            },
        ),
        (
            "comm=nginx or comm=curl",
            KernelPart {
                comms: strings(&["curl", "nginx"]),
                ..KernelPart::default()
            },
        ),
        ("pid=1 or comm=x", none.clone()),
        ("not pid=1", none.clone()),
        ("pid!=1", none.clone()),
        ("pid<10", none.clone()),
        ("comm~x", none.clone()),
        ("comm!=x", none.clone()),
        ("tree!=1", none.clone()),
        ("ppid=1", none.clone()),
        ("pid=1 or type=open", none.clone()),
        ("not not pid=1", none.clone()),
        (
            "(pid=1 or tree=2) and comm=x",
            KernelPart {
                pids: set(&[1]),
                tree_roots: set(&[2]),
                comms: strings(&["x"]),
                nets: None,
                cgroups: None,
            },
        ),
        (
            "addr=10.0.0.0/8 and type=connect",
            KernelPart {
                nets: Some([("10.0.0.0".parse().unwrap(), 8)].into()),
                ..KernelPart::default()
            },
        ),
        (
            "addr=::1 or addr=127.0.0.0/8",
            KernelPart {
                nets: Some(
                    [
                        ("::1".parse().unwrap(), 128),
                        ("127.0.0.0".parse().unwrap(), 8),
                    ]
                    .into(),
                ),
                ..KernelPart::default()
            },
        ),
        ("addr=10.0.0.0/8 or pid=1", none.clone()),
        ("addr!=10.0.0.0/8", none.clone()),
        ("(pid=1 or pid=2)", pids(&[1, 2])),
        ("pid=1 or pid=2 or pid=3", pids(&[1, 2, 3])),
        ("(pid=1 or pid=2) and type=exec", pids(&[1, 2])),
        // A mixed `or` restricts nothing; the other conjuncts still do.
        ("(pid=1 or comm=x) and pid=3", pids(&[3])),
        (
            "(pid=1 or not pid=2) and comm=y",
            KernelPart {
                comms: strings(&["y"]),
                ..KernelPart::default()
            },
        ),
        // Conjunctions of pid sets intersect.
        ("(pid=1 or pid=2) and (pid=2 or pid=3)", pids(&[2])),
        // Branches restricting the same things combine per dimension.
        (
            "(pid=1 and comm=a) or (pid=2 and comm=b)",
            KernelPart {
                pids: set(&[1, 2]),
                comms: strings(&["a", "b"]),
                ..KernelPart::default()
            },
        ),
        ("(pid=1 and comm=a) or pid=2", pids(&[1, 2])),
        (
            "comm=nginx and (comm=nginx or comm=curl)",
            KernelPart {
                comms: strings(&["nginx"]),
                ..KernelPart::default()
            },
        ),
        // The kernel compares 15 bytes, so these two names are one to it and must survive
        // the intersection.
        (
            "(comm=systemd-journald or comm=a) and (comm=systemd-journalX or comm=a)",
            KernelPart {
                comms: strings(&["a", "systemd-journald"]),
                ..KernelPart::default()
            },
        ),
        (
            "tree=1 and pid=2",
            KernelPart {
                tree_roots: set(&[1]),
                ..KernelPart::default()
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(part(text), expected, "{text:?}");
    }
}

/// Random expressions over the fields that matter to the kernel part, plus distractors.
fn expression(rng: &mut Rng, depth: usize) -> String {
    if depth == 0 || rng.one_in(3) {
        return atom(rng);
    }
    let and = if rng.one_in(2) { " and " } else { "&&" };
    let or = if rng.one_in(2) { " or " } else { "||" };
    match rng.below(4) {
        0 => format!(
            "{}{and}{}",
            expression(rng, depth - 1),
            expression(rng, depth - 1)
        ),
        1 => format!(
            "{}{or}{}",
            expression(rng, depth - 1),
            expression(rng, depth - 1)
        ),
        2 => format!("({})", expression(rng, depth - 1)),
        _ => format!("{}{}", rng.pick(&["not ", "!"]), expression(rng, depth - 1)),
    }
}

const COMMS: &[&str] = &[
    "a",
    "b",
    "nginx",
    "systemd-journal",
    "systemd-journald",
    "systemd-journalX",
];

fn atom(rng: &mut Rng) -> String {
    let pid = 1 + rng.below(8);
    let comm = rng.pick(COMMS);
    let space = if rng.one_in(2) { " " } else { "" };
    let (field, op, value) = match rng.below(14) {
        0..=3 => ("pid", "=", pid.to_string()),
        4 | 5 => ("tree", "=", pid.to_string()),
        6..=8 => ("comm", "=", comm.to_string()),
        9 => (
            "pid",
            *rng.pick(&["!=", "<", ">", "<=", ">="]),
            pid.to_string(),
        ),
        10 => ("tree", "!=", pid.to_string()),
        11 => ("comm", *rng.pick(&["!=", "~"]), comm.to_string()),
        12 => (
            "type",
            "=",
            rng.pick(&["exec", "open", "network", "process"])
                .to_string(),
        ),
        _ => ("ret", *rng.pick(&["<", "=", ">="]), "0".to_string()),
    };
    format!("{field}{space}{op}{space}{value}")
}

/// Pids 1..=8 in a binary tree: the parent of `p` is `p / 2`.
fn binary_tree() -> Tree {
    Tree(
        (2..=8)
            .map(|pid| (pid, pid / 2))
            .collect::<BTreeMap<_, _>>(),
    )
}

fn random_event(rng: &mut Rng) -> crate::model::Event {
    let ret = *rng.pick(&[-2, 0, 3]);
    let details = match rng.below(7) {
        0 => exec("/bin/x", ret),
        1 => open("/etc/x", ret),
        2 => Details::Connect(sock(super::support::v4_addrs(), ret)),
        3 => Details::Accept(sock(super::support::v6_addrs(), ret)),
        4 => tcp_close(SockAddrs {
            local: None,
            remote: None,
        }),
        5 => exit(0),
        _ => fork(9),
    };
    let mut event = event(details);
    event.pid = 1 + rng.below(8) as u32;
    event.ppid = event.pid / 2;
    // What the kernel reports: at most 15 bytes.
    let comm = rng.pick(COMMS);
    event.comm = comm.as_bytes()[..comm.len().min(15)].to_vec().into();
    event
}

#[test]
fn the_kernel_part_never_drops_a_match() {
    let mut rng = Rng::new(0x5eed_0001);
    let tree = binary_tree();
    let events: Vec<_> = (0..300).map(|_| random_event(&mut rng)).collect();
    let (mut matched, mut restricted) = (0, 0);
    for _ in 0..3_000 {
        let text = expression(&mut rng, 4);
        let filter = Filter::parse(&text).unwrap_or_else(|error| panic!("{text:?}: {error}"));
        let part = filter.kernel_part();
        for set in [part.pids.as_ref(), part.tree_roots.as_ref()]
            .into_iter()
            .flatten()
        {
            assert!(!set.is_empty(), "{text:?}: {part:?}");
        }
        assert!(
            part.comms.as_ref().is_none_or(|c| !c.is_empty()),
            "{text:?}"
        );
        if part != KernelPart::default() {
            restricted += 1;
        }
        for event in &events {
            if filter.matches(event, &tree) {
                matched += 1;
                assert!(
                    kernel_admits(&part, event, &tree),
                    "{text:?} matches pid {} comm {:?} but the kernel part {part:?} drops it",
                    event.pid,
                    String::from_utf8_lossy(&event.comm),
                );
            }
        }
    }
    // The property was exercised, not vacuously true.
    assert!(restricted > 500, "{restricted}");
    assert!(matched > 10_000, "{matched}");
}

#[test]
fn cgroup_conditions_go_to_the_kernel_only_where_implied() {
    let has_cgroups = |text: &str| part(text).cgroups.map(|c| c.len());
    assert_eq!(has_cgroups("unit=nginx.service"), Some(1));
    assert_eq!(
        has_cgroups("unit=a.service or container=0123456789ab"),
        Some(2)
    );
    assert_eq!(has_cgroups("cgroup~/system.slice/* and type=open"), Some(1));
    assert_eq!(has_cgroups("unit=a.service or type=open"), None);
    assert_eq!(has_cgroups("unit!=a.service"), None);
    assert_eq!(has_cgroups("not unit=a.service"), None);
}

/// On a fleet's remote the `host` conditions are known: each host's kernel traces only what
/// the branches for it ask, and a filter for other hosts adds no restriction it cannot keep.
#[test]
fn on_a_labelled_host_the_branches_for_other_hosts_drop_out() {
    use crate::model::host::HostId;
    let filter =
        Filter::parse("host=fw-web1 and comm=nginx or host=fw-db and comm=postgres").unwrap();
    let on = |label: &str| filter.kernel_part_on(HostId::intern(label)).comms;
    assert_eq!(on("fw-web1"), strings(&["nginx"]));
    assert_eq!(on("fw-db"), strings(&["postgres"]));
    assert_eq!(filter.kernel_part().comms, strings(&["nginx", "postgres"]));
    // Globs and negations are decided the same way.
    let filter = Filter::parse("host~fw-web* and pid=5 or host!=fw-db and pid=6").unwrap();
    let on = |label: &str| filter.kernel_part_on(HostId::intern(label));
    assert_eq!(on("fw-web2").pids, set(&[5, 6]));
    assert_eq!(on("fw-db"), KernelPart::default());
    assert_eq!(on("fw-cache").pids, set(&[6]));
}

use super::super::fixtures::*;
use super::*;

/// (field, type_decl, offset, size, signed, data_loc)
type Expected = (&'static str, &'static str, u16, u16, bool, bool);

struct Case {
    text: &'static str,
    name: &'static str,
    id: u32,
    field_count: usize,
    expected: &'static [Expected],
}

const CASES: &[Case] = &[
    Case {
        text: SYS_ENTER_OPENAT,
        name: "sys_enter_openat",
        id: 782,
        field_count: 9,
        expected: &[
            ("__syscall_nr", "int", 8, 4, true, false),
            ("dfd", "int", 16, 8, false, false),
            ("filename", "const char *", 24, 8, false, false),
            ("flags", "int", 32, 8, false, false),
            ("mode", "umode_t", 40, 8, false, false),
        ],
    },
    Case {
        text: SYS_EXIT_OPENAT,
        name: "sys_exit_openat",
        id: 781,
        field_count: 6,
        expected: &[("ret", "long", 16, 8, true, false)],
    },
    Case {
        text: SYS_ENTER_EXECVE,
        name: "sys_enter_execve",
        id: 862,
        field_count: 8,
        expected: &[
            ("filename", "const char *", 16, 8, false, false),
            ("argv", "const char *const *", 24, 8, false, false),
            ("envp", "const char *const *", 32, 8, false, false),
        ],
    },
    Case {
        text: SCHED_PROCESS_FORK,
        name: "sched_process_fork",
        id: 366,
        field_count: 8,
        expected: &[
            ("parent_comm", "__data_loc char[]", 8, 4, false, true),
            ("parent_pid", "pid_t", 12, 4, true, false),
            ("child_comm", "__data_loc char[]", 16, 4, false, true),
            ("child_pid", "pid_t", 20, 4, true, false),
        ],
    },
    Case {
        text: OLD_SCHED_PROCESS_FORK,
        name: "sched_process_fork",
        id: 314,
        field_count: 8,
        expected: &[
            ("parent_comm", "char[16]", 8, 16, true, false),
            ("parent_pid", "pid_t", 24, 4, true, false),
            ("child_comm", "char[16]", 28, 16, true, false),
            ("child_pid", "pid_t", 44, 4, true, false),
        ],
    },
    Case {
        text: SCHED_PROCESS_EXEC,
        name: "sched_process_exec",
        id: 365,
        field_count: 7,
        expected: &[
            ("filename", "__data_loc char[]", 8, 4, false, true),
            ("pid", "pid_t", 12, 4, true, false),
            ("old_pid", "pid_t", 16, 4, true, false),
        ],
    },
    Case {
        text: SCHED_PROCESS_EXIT,
        name: "sched_process_exit",
        id: 369,
        field_count: 8,
        expected: &[
            ("comm", "char[16]", 8, 16, false, false),
            ("pid", "pid_t", 24, 4, true, false),
            ("prio", "int", 28, 4, true, false),
            ("group_dead", "bool", 32, 1, false, false),
        ],
    },
    Case {
        text: INET_SOCK_SET_STATE,
        name: "inet_sock_set_state",
        id: 2287,
        field_count: 15,
        expected: &[
            ("skaddr", "const void *", 8, 8, false, false),
            ("oldstate", "int", 16, 4, true, false),
            ("newstate", "int", 20, 4, true, false),
            ("sport", "__u16", 24, 2, false, false),
            ("dport", "__u16", 26, 2, false, false),
            ("family", "__u16", 28, 2, false, false),
            ("protocol", "__u16", 30, 2, false, false),
            ("saddr", "__u8[4]", 32, 4, false, false),
            ("daddr", "__u8[4]", 36, 4, false, false),
            ("saddr_v6", "__u8[16]", 40, 16, false, false),
            ("daddr_v6", "__u8[16]", 56, 16, false, false),
        ],
    },
];

/// Every tracepoint starts with the same common header.
const COMMON: &[Expected] = &[
    ("common_type", "unsigned short", 0, 2, false, false),
    ("common_flags", "unsigned char", 2, 1, false, false),
    ("common_preempt_count", "unsigned char", 3, 1, false, false),
    ("common_pid", "int", 4, 4, true, false),
];

#[test]
fn parses_real_formats() {
    for case in CASES {
        let format =
            parse_format(case.text).unwrap_or_else(|e| panic!("{} ({}): {e}", case.name, case.id));
        assert_eq!(format.name, case.name);
        assert_eq!(format.id, case.id, "{}", case.name);
        assert_eq!(format.fields.len(), case.field_count, "{}", case.name);
        for &(field, type_decl, offset, size, signed, data_loc) in
            COMMON.iter().chain(case.expected)
        {
            let expected = FormatField {
                name: field.to_owned(),
                type_decl: type_decl.to_owned(),
                offset,
                size,
                signed,
                data_loc,
            };
            assert_eq!(
                format.field(field),
                Some(&expected),
                "{} {}",
                case.name,
                case.id
            );
        }
    }
}

#[test]
fn fields_keep_file_order() {
    let format = parse_format(SCHED_PROCESS_FORK).expect("parses");
    let names: Vec<_> = format.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "common_type",
            "common_flags",
            "common_preempt_count",
            "common_pid",
            "parent_comm",
            "parent_pid",
            "child_comm",
            "child_pid",
        ]
    );
}

#[test]
fn require_names_tracepoint_and_field() {
    let format = parse_format(SCHED_PROCESS_EXIT).expect("parses");
    assert_eq!(format.require("pid").map(|f| f.offset), Ok(24));
    let err = format.require("parent_comm").expect_err("no such field");
    assert_eq!(
        err,
        FormatError::MissingField {
            tracepoint: "sched_process_exit".into(),
            field: "parent_comm".into(),
        }
    );
    assert_eq!(
        err.to_string(),
        "tracepoint sched_process_exit has no field `parent_comm` on this kernel"
    );
    assert_eq!(format.field("nope"), None);
}

#[test]
fn splits_declarations() {
    let cases: &[(&str, Option<(&str, &str)>)] = &[
        (
            "unsigned short common_type",
            Some(("common_type", "unsigned short")),
        ),
        (
            "__data_loc char[] filename",
            Some(("filename", "__data_loc char[]")),
        ),
        ("char comm[16]", Some(("comm", "char[16]"))),
        ("char comm [16]", Some(("comm", "char[16]"))),
        ("const char * filename", Some(("filename", "const char *"))),
        (
            "const char *const * argv",
            Some(("argv", "const char *const *")),
        ),
        ("const void *skaddr", Some(("skaddr", "const void *"))),
        (
            "__u8 saddr[sizeof(struct sockaddr_in6)]",
            Some(("saddr", "__u8[sizeof(struct sockaddr_in6)]")),
        ),
        ("int grid[2][3]", Some(("grid", "int[2][3]"))),
        ("  pid_t pid  ", Some(("pid", "pid_t"))),
        ("", None),
        ("int", None),
        ("[16]", None),
        ("char comm[16", None),
        ("char comm16]", None),
        ("int 3x", None),
        ("int é", None),
    ];
    for &(decl, expected) in cases {
        let got = split_declaration(decl);
        let got = got.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
        assert_eq!(got, expected, "{decl:?}");
    }
}

const HEADER: &str = "name: test_event\nID: 42\nformat:\n";

#[test]
fn malformed_formats() {
    let field_line = |s: &str| format!("{HEADER}{s}\n\nprint fmt: \"\"\n");
    let cases: Vec<(String, FormatError)> = vec![
        (String::new(), FormatError::Empty),
        (" \n\t\n".into(), FormatError::Empty),
        (
            field_line("\tfield:int pid;\tsize:4;\tsigned:1;"),
            FormatError::MissingAttribute {
                line: 4,
                key: "offset",
            },
        ),
        (
            field_line("\tfield:int pid;\toffset:8;\tsigned:1;"),
            FormatError::MissingAttribute {
                line: 4,
                key: "size",
            },
        ),
        (
            field_line("\tfield:int pid;\toffset:8;\tsize:abc;\tsigned:1;"),
            FormatError::InvalidNumber {
                line: 4,
                key: "size",
                value: "abc".into(),
            },
        ),
        (
            field_line("\tfield:int pid;\toffset:70000;\tsize:4;\tsigned:1;"),
            FormatError::InvalidNumber {
                line: 4,
                key: "offset",
                value: "70000".into(),
            },
        ),
        (
            field_line("\tfield:int pid;\toffset:-1;\tsize:4;\tsigned:1;"),
            FormatError::InvalidNumber {
                line: 4,
                key: "offset",
                value: "-1".into(),
            },
        ),
        (
            field_line("\tfield:int pid;\toffset:8;\tsize:4;\tsigned:yes;"),
            FormatError::InvalidNumber {
                line: 4,
                key: "signed",
                value: "yes".into(),
            },
        ),
        (
            field_line("\tfield:int;\toffset:8;\tsize:4;\tsigned:1;"),
            FormatError::MalformedField {
                line: 4,
                text: "int;\toffset:8;\tsize:4;\tsigned:1;".into(),
            },
        ),
        (
            field_line("\tfield:int pid;\toffset 8;\tsize:4;\tsigned:1;"),
            FormatError::MalformedField {
                line: 4,
                text: "int pid;\toffset 8;\tsize:4;\tsigned:1;".into(),
            },
        ),
        (
            "ID: 42\nformat:\n\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n".into(),
            FormatError::MissingHeader { key: "name" },
        ),
        (
            "name: test_event\nformat:\n\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n".into(),
            FormatError::MissingHeader { key: "ID" },
        ),
        (
            "name: test_event\nID: x1\nformat:\n".into(),
            FormatError::InvalidNumber {
                line: 2,
                key: "ID",
                value: "x1".into(),
            },
        ),
        (
            format!("{HEADER}\nprint fmt: \"field:int pid;\toffset:8;\tsize:4;\"\n"),
            FormatError::NoFields {
                name: "test_event".into(),
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_format(&text), Err(expected), "{text:?}");
    }
}

#[test]
fn lenient_where_old_or_new_kernels_differ() {
    // No `signed:` (pre-2.6.32), `field special:` (pre-3.x), an unknown
    // attribute, and CRLF line ends must all still parse.
    let text = "name: old\r\nID: 7\r\nformat:\r\n\
        \tfield special:unsigned long ip;\toffset:8;\tsize:8;\r\n\
        \tfield:int pid;\toffset:16;\tsize:4;\tsigned:1;\tfuture:3;\r\n\
        print fmt: \"field:bogus\"\r\n";
    let format = parse_format(text).expect("parses");
    assert_eq!(format.id, 7);
    let ip = format.require("ip").expect("ip");
    assert_eq!((ip.offset, ip.size, ip.signed), (8, 8, false));
    assert_eq!(format.require("pid").map(|f| f.offset), Ok(16));
    assert_eq!(format.fields.len(), 2);
}

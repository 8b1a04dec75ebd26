//! What parses, what it means (by comparing with an equivalent spelling), and the exact error
//! for what does not.

use crate::filter::{Filter, FilterError};

fn expr(text: &str) -> crate::filter::ast::Expr {
    match Filter::parse(text) {
        Ok(filter) => filter.expr,
        Err(error) => panic!("{text:?}: {error}"),
    }
}

const FIELDS: &str = "fields: pid, ppid, tree, comm, uid, type, path, unix, query, cgroup, unit, container, addr, \
     port, ret, error, exit_code, signal, sig, host";
const TYPES: &str = "types: exec, open, connect, accept, tcp_close, exit, fork, dns, signal, oom_kill, unlink, \
     rename, mkdir, chmod, chown, truncate, link, symlink, changes, files, network, process";
const OPERATORS: &str = "(=, !=, ~, <, >, <=, >=)";

#[test]
fn accepts_the_grammar() {
    for text in [
        "",
        "   ",
        "\t\n",
        "pid=1",
        "ppid=0",
        "uid=4294967295",
        "tree=4242",
        "tree!=1",
        "comm=nginx",
        "comm!=nginx",
        "comm~ngi",
        "comm~ngin?",
        "comm=\"two words\"",
        r#"comm="say \"hi\" \\o/""#,
        "comm=\"\"",
        "comm=café",
        "path~/etc/*.conf",
        "path=/usr/lib/x86_64-linux-gnu/libc.so.6",
        "addr=10.0.0.0/8",
        "addr=::1",
        "addr!=127.0.0.0/8",
        "addr=fe80::/10",
        "addr=\"::ffff:10.0.0.0/104\"",
        "port=443",
        "port>1024",
        "port<=65535",
        "ret<0",
        "ret>=0",
        "ret=-2",
        "ret=\"+3\"",
        "ret<=-2147483648",
        "error=ENOENT",
        "error=enoent",
        "error=EWOULDBLOCK",
        "error=E600",
        "error~CONN",
        "error~e*",
        "exit_code=1",
        "exit_code!=0",
        "exit_code>=128",
        "signal=SIGKILL",
        "signal=9",
        "signal~SEGV",
        "signal!=SIGTERM",
        "type=exec",
        "type=tcp_close",
        "type=NETWORK",
        "type=files or type=process",
        "tree=4242 and (type=open or type=connect) and ret<0",
        "not pid=1",
        "!pid=1",
        "!!pid=1",
        "pid=1 && comm=x || !(type=exit)",
        "PID=1 AND COMM=x OR NOT TYPE=exit",
        "comm=\"x\"and pid=1",
        "(((pid=1)))",
    ] {
        expr(text);
    }
}

#[test]
fn spellings_that_mean_the_same() {
    let pairs = [
        ("pid=1", "pid = 1"),
        ("pid=1", "  pid  =\t1  "),
        ("pid=1", "PID=1"),
        ("pid=1", "pid=\"1\""),
        ("pid=1", "((pid=1))"),
        ("pid!=1", "pid != 1"),
        ("ret<=-1", "ret <= -1"),
        ("ret>=-1", "ret>= -1"),
        ("pid=1 and comm=x", "pid=1 && comm=x"),
        ("pid=1 and comm=x", "pid=1&&comm=x"),
        ("pid=1 or comm=x", "pid=1 || comm=x"),
        ("pid=1 or comm=x", "pid=1 OR comm=x"),
        ("not pid=1", "!pid=1"),
        ("not pid=1", "! pid=1"),
        ("not pid=1", "NOT pid=1"),
        // Precedence: not > and > or.
        ("pid=1 or pid=2 and pid=3", "pid=1 or (pid=2 and pid=3)"),
        ("pid=1 and pid=2 or pid=3", "(pid=1 and pid=2) or pid=3"),
        ("not pid=1 and pid=2", "(not pid=1) and pid=2"),
        ("not pid=1 or pid=2", "(not pid=1) or pid=2"),
        // Chains flatten whichever way they are grouped.
        ("pid=1 and pid=2 and pid=3", "(pid=1 and pid=2) and pid=3"),
        ("pid=1 and pid=2 and pid=3", "pid=1 and (pid=2 and pid=3)"),
        ("pid=1 or pid=2 or pid=3", "(pid=1 or pid=2) or pid=3"),
        // Case-insensitive names and values where case carries no meaning.
        ("type=open", "type=OPEN"),
        ("type=open", "type=files"),
        ("error=ENOENT", "error=enoent"),
        ("error=ENOENT", "error=E2"),
        ("error=EAGAIN", "error=EWOULDBLOCK"),
        // A signal by name, without `SIG`, or by number.
        ("signal=SIGKILL", "signal=kill"),
        ("signal=SIGKILL", "signal=9"),
        ("signal=SIGKILL", "signal=sig9"),
        ("signal=SIG40", "signal=40"),
        ("signal~KILL", "signal~kill"),
        ("addr=10.0.0.0/8", "addr=10.1.2.3/8"),
        ("addr=10.0.0.0/8", "addr=::ffff:10.0.0.0/104"),
    ];
    for (a, b) in pairs {
        assert_eq!(expr(a), expr(b), "{a:?} vs {b:?}");
    }
    assert_ne!(
        expr("pid=1 or pid=2 and pid=3"),
        expr("(pid=1 or pid=2) and pid=3")
    );
}

#[test]
fn text_is_kept() {
    assert_eq!(Filter::parse(" pid=1 ").unwrap().text(), " pid=1 ");
    assert_eq!(Filter::match_all().text(), "");
}

#[test]
fn errors_point_at_the_offending_token() {
    let cases: &[(&str, usize, &str)] = &[
        ("pdi=1", 1, &format!("unknown field `pdi` ({FIELDS})")),
        ("not pdi=1", 5, &format!("unknown field `pdi` ({FIELDS})")),
        ("pid=", 5, "expected a value after `=`"),
        ("type=open and pid=", 19, "expected a value after `=`"),
        ("pid= and comm=x", 6, "expected a value after `=`"),
        ("pid=not", 5, "expected a value after `=`"),
        ("pid==1", 5, "expected a value after `=`"),
        ("comm!=)", 7, "expected a value after `!=`"),
        ("(pid=1", 1, "unbalanced `(`"),
        ("((pid=1) or (comm=x)", 1, "unbalanced `(`"),
        ("pid=1 and (comm=x", 11, "unbalanced `(`"),
        ("pid=1)", 6, "unbalanced `)`"),
        ("comm=x))", 7, "unbalanced `)`"),
        ("pid~1", 4, "`~` needs a text field"),
        ("ret ~ 0", 5, "`~` needs a text field"),
        ("comm<5", 5, "`<` needs a number"),
        ("error<ENOENT", 6, "`<` needs a number"),
        ("path>=x", 5, "`>=` needs a number"),
        ("tree<5", 5, "`tree` takes only `=` or `!=`"),
        ("type~open", 5, "`type` takes only `=` or `!=`"),
        ("addr>10.0.0.1", 5, "`addr` takes only `=` or `!=`"),
        (
            "addr=10.0.0.0/33",
            6,
            "not an IP address or CIDR: 10.0.0.0/33",
        ),
        (
            "addr=example.com",
            6,
            "not an IP address or CIDR: example.com",
        ),
        (
            "type=open or type=opn",
            19,
            &format!("unknown event type `opn` ({TYPES})"),
        ),
        ("pid=abc", 5, "`pid` needs a number, not `abc`"),
        ("pid=\"x\"", 5, "`pid` needs a number, not `x`"),
        ("ret<x", 5, "`ret` needs a number, not `x`"),
        ("pid=1.5", 5, "`pid` needs a number, not `1.5`"),
        ("pid=-1", 5, "`pid` must be from 0 to 4294967295, not -1"),
        ("port=70000", 6, "`port` must be from 0 to 65535, not 70000"),
        (
            "ret=99999999999999999999",
            5,
            "`ret` must be from -2147483648 to 2147483647, not 99999999999999999999",
        ),
        (
            "pid 1",
            5,
            &format!("expected an operator {OPERATORS} after `pid`"),
        ),
        (
            "pid",
            4,
            &format!("expected an operator {OPERATORS} after `pid`"),
        ),
        (
            "pid!1",
            4,
            &format!("expected an operator {OPERATORS} after `pid`"),
        ),
        ("pid=1 and", 10, "expected a field name after `and`"),
        ("pid=1 or", 9, "expected a field name after `or`"),
        ("pid=1 or not", 13, "expected a field name after `not`"),
        ("pid=1 &&", 9, "expected a field name after `&&`"),
        ("(", 2, "expected a field name after `(`"),
        ("=1", 1, "expected a field name, found `=`"),
        ("()", 2, "expected a field name, found `)`"),
        ("pid=1 and and", 11, "expected a field name, found `and`"),
        (
            "\"pid\"=1",
            1,
            "expected a field name, found a quoted string",
        ),
        ("pid=1 comm=x", 7, "expected `and` or `or`, found `comm`"),
        ("pid=1 !", 7, "expected `and` or `or`, found `!`"),
        (
            "(pid=1 comm=x)",
            8,
            "expected `and`, `or` or `)`, found `comm`",
        ),
        ("pid=1 & comm=x", 7, "unexpected `&` (use `&&` or `and`)"),
        ("pid=1 | comm=x", 7, "unexpected `|` (use `||` or `or`)"),
        (
            "comm=\"abc",
            6,
            "unterminated string (missing closing `\"`)",
        ),
        (
            "comm=\"a\\",
            6,
            "unterminated string (missing closing `\"`)",
        ),
        (
            "comm=\"a\\nb\"",
            8,
            "unknown escape `\\n` (strings allow `\\\"` and `\\\\`)",
        ),
        ("pid=1 # x", 7, "unexpected character `#`"),
        ("pid=1,2", 6, "unexpected character `,`"),
        // Columns count characters, not bytes.
        ("comm=é and pid=1 ✓", 18, "unexpected character `✓`"),
        (
            "comm=\"日本\" and pdi=1",
            15,
            &format!("unknown field `pdi` ({FIELDS})"),
        ),
        // What was typed is quoted escaped, so the message stays one line.
        (
            "type=\"a\nb\"",
            6,
            &format!("unknown event type `a\\nb` ({TYPES})"),
        ),
        (
            "error=2",
            7,
            "`error` takes an errno name such as ENOENT, not a number (for numbers use `ret=-2`)",
        ),
        (
            "error=ENOENTT",
            7,
            "unknown errno name `ENOENTT` (such as ENOENT, EACCES, ECONNREFUSED)",
        ),
        ("exit_code~1", 10, "`~` needs a text field"),
        (
            "exit_code=256",
            11,
            "`exit_code` must be from 0 to 255, not 256",
        ),
        (
            "exit_code=-1",
            11,
            "`exit_code` must be from 0 to 255, not -1",
        ),
        ("signal<9", 7, "`<` needs a number"),
        ("signal=65", 8, "`signal` must be from 1 to 64, not 65"),
        ("signal=0", 8, "`signal` must be from 1 to 64, not 0"),
        (
            "signal=SIGNOPE",
            8,
            "unknown signal `SIGNOPE` (such as SIGKILL, SIGTERM, SIGSEGV, or a number)",
        ),
    ];
    for &(text, column, message) in cases {
        let expected = FilterError {
            column,
            message: message.to_owned(),
        };
        assert_eq!(Filter::parse(text).err(), Some(expected), "{text:?}");
    }
}

#[test]
fn the_display_is_one_line_with_the_column() {
    let error = Filter::parse("pid=1 and pdi=2").unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("column 11: unknown field `pdi` ({FIELDS})")
    );
}

#[test]
fn nesting_is_capped_not_fatal() {
    let ok = format!("{}pid=1{}", "(".repeat(64), ")".repeat(64));
    expr(&ok);
    let deep = format!("{}pid=1{}", "(".repeat(65), ")".repeat(65));
    let error = Filter::parse(&deep).unwrap_err();
    assert_eq!(error.column, 65);
    assert!(error.message.starts_with("too deeply nested"), "{error}");
    let nots = format!("{}pid=1", "not ".repeat(100));
    assert_eq!(Filter::parse(&nots).unwrap_err().column, 4 * 64 + 1);
    // Far beyond any stack.
    for huge in ["(".repeat(200_000), "!".repeat(200_000)] {
        assert!(Filter::parse(&huge).is_err());
    }
    let long_chain = vec!["pid=1"; 50_000].join(" and ");
    expr(&long_chain);
}

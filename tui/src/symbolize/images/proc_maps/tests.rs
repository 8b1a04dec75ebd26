use std::sync::Arc;

use super::*;

/// (start, end, pgoff, dev, inode, path) of a parsed mapping.
type Parsed = (u64, u64, u64, (u32, u32), u64, &'static str);

#[test]
fn parse_proc_maps_table() {
    let cases: &[(&str, Option<Parsed>)] = &[
        // Normal lines, with the kernel's padding before the path.
        (
            "7f1c2a000000-7f1c2a022000 r-xp 00028000 08:01 1234567                    /usr/lib/x86_64-linux-gnu/libc.so.6",
            Some((
                0x7f1c2a000000,
                0x7f1c2a022000,
                0x28000,
                (8, 1),
                1234567,
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
            )),
        ),
        (
            "00400000-00452000 r-xp 00000000 fd:1a 42 /bin/app",
            Some((0x400000, 0x452000, 0, (0xfd, 0x1a), 42, "/bin/app")),
        ),
        (
            "00400000-00452000 --xs 00001000 103:02 42 /bin/xonly",
            Some((0x400000, 0x452000, 0x1000, (0x103, 2), 42, "/bin/xonly")),
        ),
        // Special mappings are not files.
        (
            "7ffd5e7f2000-7ffd5e7f4000 r-xp 00000000 00:00 0                          [vdso]",
            None,
        ),
        (
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]",
            None,
        ),
        // Anonymous (JIT) executable memory has no path.
        ("7f0000000000-7f0000010000 rwxp 00000000 00:00 0 ", None),
        ("7f0000000000-7f0000010000 rwxp 00000000 00:00 0", None),
        ("00400000-00401000 r-xp 00000000 08:01 9 //anon", None),
        // Not executable.
        (
            "7f1c2a022000-7f1c2a1b7000 r--p 00022000 08:01 1234567 /usr/lib/libc.so.6",
            None,
        ),
        (
            "7f1c2a022000-7f1c2a1b7000 rw-p 00000000 00:00 0 [heap]",
            None,
        ),
        // Deleted files keep their path, without the suffix.
        (
            "7f00aa000000-7f00aa100000 r-xp 00000000 08:01 77 /opt/app/lib.so (deleted)",
            Some((
                0x7f00aa000000,
                0x7f00aa100000,
                0,
                (8, 1),
                77,
                "/opt/app/lib.so",
            )),
        ),
        (
            "7f00aa000000-7f00aa100000 r-xp 00000000 00:01 5 /memfd:jit (deleted)",
            Some((0x7f00aa000000, 0x7f00aa100000, 0, (0, 1), 5, "/memfd:jit")),
        ),
        // Spaces inside the path are kept.
        (
            "00400000-00401000 r-xp 00000000 08:01 9 /home/me/My Programs/a  b.out",
            Some((
                0x400000,
                0x401000,
                0,
                (8, 1),
                9,
                "/home/me/My Programs/a  b.out",
            )),
        ),
        (
            "0-1 r-xp 0 0:0 0 /\u{e9}",
            Some((0, 1, 0, (0, 0), 0, "/\u{e9}")),
        ),
        // Malformed lines are skipped.
        ("", None),
        ("   ", None),
        ("garbage", None),
        ("00400000 r-xp 00000000 08:01 9 /bin/nodash", None),
        ("zz-00401000 r-xp 00000000 08:01 9 /bin/badhex", None),
        (
            "00401000-00400000 r-xp 00000000 08:01 9 /bin/backwards",
            None,
        ),
        ("00400000-00401000 r-xp 00000000 0801 9 /bin/nodev", None),
        ("00400000-00401000 r-xp 00000000 08:zz 9 /bin/baddev", None),
        (
            "00400000-00401000 r-xp 00000000 08:01 x9 /bin/badinode",
            None,
        ),
        (
            "00400000-00401000 r-xp 0000g000 08:01 9 /bin/badoffset",
            None,
        ),
        (
            "00400000-00401000 rx 00000000 08:01 9 /bin/shortperms",
            None,
        ),
        ("00400000-00401000 r-xp 00000000 08:01", None),
        (
            "00400000-00401000 r-xp 00000000 08:01 9 relative/path",
            None,
        ),
    ];
    for (line, expect) in cases {
        let got: Vec<_> = parse_proc_maps(line)
            .into_iter()
            .map(|m| {
                (
                    m.start,
                    m.end,
                    m.pgoff,
                    m.dev,
                    m.inode,
                    m.path.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let expect: Vec<_> = expect
            .iter()
            .map(|&(s, e, o, d, i, p)| (s, e, o, d, i, p.to_owned()))
            .collect();
        assert_eq!(got, expect, "line {line:?}");
    }
}

#[test]
fn parse_proc_maps_keeps_order_and_shares_paths_within_a_text() {
    let text = "\
00400000-00401000 r-xp 00000000 08:01 9 /bin/app
00401000-00402000 r--p 00001000 08:01 9 /bin/app
7f0000000000-7f0000001000 r-xp 00000000 08:01 10 /lib/a.so
not a maps line at all
7f0000002000-7f0000003000 r-xp 00002000 08:01 9 /bin/app
";
    let mappings = parse_proc_maps(text);
    let starts: Vec<_> = mappings.iter().map(|m| m.start).collect();
    assert_eq!(starts, [0x400000, 0x7f00_0000_0000, 0x7f00_0000_2000]);
    assert!(Arc::ptr_eq(&mappings[0].path, &mappings[2].path));
}

//! Kernel tests for "who deleted it": every kind of file change and its failure, paths given
//! relative to the cwd or to a directory fd and resolved to absolute ones in the kernel, a
//! rename across directories, and fd-based calls named through their fd.

mod support;

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::stacks::symbols;
use support::{Ringside, field, is_type, kernel_tests_enabled, path_string, scratch_dir};

const CHANGES: &str = "unlink,rename,mkdir,chmod,chown,truncate,link,symlink";

fn c(text: &str) -> CString {
    CString::new(text).expect("no NUL")
}

fn open_dir(path: &Path) -> OwnedFd {
    std::fs::File::open(path).expect("open dir").into()
}

fn my_pid() -> u64 {
    u64::from(std::process::id())
}

/// Events of this test's own process of `kind` whose `path` is `path`.
fn mine<'a>(events: &'a [Value], kind: &'a str, path: &'a str) -> impl Iterator<Item = &'a Value> {
    events
        .iter()
        .filter(move |e| is_type(e, kind) && e["pid"] == my_pid() && e["path"] == path)
}

/// Makes every change through a directory fd, as a program that keeps one open does.
#[inline(never)]
fn change_through_a_dirfd(dir: &OwnedFd, other: &OwnedFd) {
    let d = dir.as_raw_fd();
    let o = other.as_raw_fd();
    // SAFETY (this block): each call takes NUL-terminated paths and fds this test owns.
    unsafe {
        assert_eq!(libc::mkdirat(d, c("made").as_ptr(), 0o750), 0);
        assert_eq!(libc::mkdirat(d, c("made").as_ptr(), 0o750), -1, "EEXIST");
        let file = libc::openat(d, c("f").as_ptr(), libc::O_CREAT | libc::O_WRONLY, 0o600);
        assert!(file >= 0);
        assert_eq!(libc::fchmod(file, 0o640), 0);
        assert_eq!(libc::ftruncate(file, 1234), 0);
        assert_eq!(libc::fchown(file, u32::MAX, 0), 0);
        libc::close(file);
        assert_eq!(libc::fchmodat(d, c("f").as_ptr(), 0o604, 0), 0);
        assert_eq!(libc::fchownat(d, c("f").as_ptr(), 0, u32::MAX, 0), 0);
        assert_eq!(
            libc::linkat(d, c("f").as_ptr(), o, c("hard").as_ptr(), 0),
            0
        );
        assert_eq!(
            libc::symlinkat(c("../f").as_ptr(), o, c("soft").as_ptr()),
            0
        );
        // Across directories: from `dir` to `other`, each named through its own fd.
        assert_eq!(
            libc::renameat(d, c("f").as_ptr(), o, c("moved").as_ptr()),
            0
        );
        assert_eq!(libc::unlinkat(d, c("missing").as_ptr(), 0), -1, "ENOENT");
        assert_eq!(libc::unlinkat(d, c("made").as_ptr(), libc::AT_REMOVEDIR), 0);
    }
}

#[test]
fn changes_through_a_dirfd_are_resolved_and_stacked() {
    if !kernel_tests_enabled("changes_through_a_dirfd_are_resolved_and_stacked") {
        return;
    }
    let scratch = scratch_dir();
    let root = scratch.path().canonicalize().expect("canonical");
    let (a, b) = (root.join("a"), root.join("b"));
    std::fs::create_dir(&a).expect("mkdir a");
    std::fs::create_dir(&b).expect("mkdir b");
    let (a_s, b_s) = (path_string(&a), path_string(&b));

    let ringside = Ringside::start(&["--events", CHANGES]);
    change_through_a_dirfd(&open_dir(&a), &open_dir(&b));
    ringside.wait_for("the last change", |e| {
        is_type(e, "unlink") && e["path"] == "made" && e["pid"] == my_pid()
    });
    let events = ringside.stop().events;

    let one = |kind: &str, path: &str, pick: &dyn Fn(&Value) -> bool| -> Value {
        mine(&events, kind, path)
            .find(|e| pick(e))
            .unwrap_or_else(|| panic!("no {kind} of {path} among {events:#?}"))
            .clone()
    };
    let any = |_: &Value| true;
    let made = one("mkdir", "made", &|e| e["ret"] == 0);
    assert_eq!(field(&made, "syscall"), "mkdirat");
    assert_eq!(field(&made, "abs_path"), &format!("{a_s}/made"));
    assert_eq!(field(&made, "mode"), "0750");
    assert!(field(&made, "latency_ns").as_u64().is_some());
    let user = symbols(field(&made, "ustack"));
    assert!(
        user.iter().any(|s| s.contains("change_through_a_dirfd")),
        "the caller's stack: {user:?}"
    );
    let exists = one("mkdir", "made", &|e| e["ret"] != 0);
    assert_eq!(field(&exists, "error"), "EEXIST");

    // fd-based calls name the file through the fd.
    let file = format!("{a_s}/f");
    let fchmod = one("chmod", &file, &|e| e["syscall"] == "fchmod");
    assert_eq!(field(&fchmod, "mode"), "0640");
    assert!(fchmod["fd"].as_i64().is_some(), "{fchmod}");
    let ftruncate = one("truncate", &file, &any);
    assert_eq!(field(&ftruncate, "syscall"), "ftruncate");
    assert_eq!(field(&ftruncate, "length"), 1234);
    let fchown = one("chown", &file, &any);
    assert_eq!(field(&fchown, "gid_new"), 0);
    assert!(
        fchown.get("uid_new").is_none(),
        "-1 leaves the owner: {fchown}"
    );

    let chmod = one("chmod", "f", &any);
    assert_eq!(field(&chmod, "syscall"), "fchmodat");
    assert_eq!(field(&chmod, "abs_path"), &file);
    assert_eq!(field(&chmod, "mode"), "0604");
    let chown = one("chown", "f", &any);
    assert_eq!(field(&chown, "uid_new"), 0);

    let link = one("link", "hard", &any);
    assert_eq!(field(&link, "abs_path"), &format!("{b_s}/hard"));
    assert_eq!(field(&link, "target"), "f");
    assert_eq!(field(&link, "target_abs_path"), &file);
    let symlink = one("symlink", "soft", &any);
    assert_eq!(field(&symlink, "abs_path"), &format!("{b_s}/soft"));
    assert_eq!(
        field(&symlink, "target"),
        "../f",
        "a target is text, not resolved"
    );
    assert!(symlink.get("target_abs_path").is_none(), "{symlink}");

    let rename = one("rename", "f", &any);
    assert_eq!(field(&rename, "syscall"), "renameat");
    assert_eq!(field(&rename, "abs_path"), &file);
    assert_eq!(field(&rename, "new_path"), "moved");
    assert_eq!(field(&rename, "new_abs_path"), &format!("{b_s}/moved"));
    assert_eq!(field(&rename, "ret"), 0);

    let missing = one("unlink", "missing", &any);
    assert_eq!(field(&missing, "error"), "ENOENT");
    assert_eq!(field(&missing, "abs_path"), &format!("{a_s}/missing"));
    let rmdir = one("unlink", "made", &any);
    assert_eq!(field(&rmdir, "dir"), true);
    assert_eq!(field(&rmdir, "syscall"), "unlinkat");
}

#[test]
fn a_shell_s_changes_relative_to_its_cwd_are_resolved_and_filtered_by_either_path() {
    if !kernel_tests_enabled(
        "a_shell_s_changes_relative_to_its_cwd_are_resolved_and_filtered_by_either_path",
    ) {
        return;
    }
    let scratch = scratch_dir();
    let root = scratch.path().canonicalize().expect("canonical");
    let root_s = path_string(&root);
    std::fs::create_dir(root.join("src")).expect("mkdir");
    std::fs::create_dir(root.join("dst")).expect("mkdir");
    // Only the absolute form names the scratch dir: the filter must match it.
    let filter = format!("path~{root_s}/*");
    let ringside = Ringside::start(&[
        "--events",
        &format!("{CHANGES},open,exec"),
        "--filter",
        &filter,
    ]);
    let script = "cd src && echo x > doomed && mv doomed ../dst/kept && ln -s kept ../dst/l \
                  && rm ../dst/l && rm nothing-here; cp /bin/true ./prog && ./prog; \
                  mkdir gone && cd gone && rmdir ../gone && touch orphan 2>/dev/null; exit 0";
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(&root)
        .status()
        .expect("sh");
    assert!(status.success());
    let orphan = ringside.wait_for("the open in a deleted cwd", |e| {
        is_type(e, "open") && e["path"] == "orphan"
    });
    let events = ringside.stop().events;
    let find = |kind: &str, path: &str| -> Value {
        events
            .iter()
            .find(|e| is_type(e, kind) && e["path"] == path)
            .unwrap_or_else(|| panic!("no {kind} of {path} among {events:#?}"))
            .clone()
    };
    let created = find("open", "doomed");
    assert_eq!(field(&created, "abs_path"), &format!("{root_s}/src/doomed"));
    let moved = find("rename", "doomed");
    assert_eq!(field(&moved, "comm"), "mv");
    assert_eq!(field(&moved, "abs_path"), &format!("{root_s}/src/doomed"));
    assert_eq!(field(&moved, "new_path"), "../dst/kept");
    assert_eq!(
        field(&moved, "new_abs_path"),
        &format!("{root_s}/src/../dst/kept")
    );
    let removed = find("unlink", "../dst/l");
    assert_eq!(field(&removed, "comm"), "rm");
    assert_eq!(field(&removed, "ret"), 0);
    let failed = find("unlink", "nothing-here");
    assert_eq!(field(&failed, "error"), "ENOENT");
    // An exec of a relative name is resolved the same way.
    let exec = events
        .iter()
        .find(|e| is_type(e, "exec") && e["filename"] == "./prog")
        .unwrap_or_else(|| panic!("no exec of ./prog among {events:#?}"));
    assert_eq!(field(exec, "abs_path"), &format!("{root_s}/src/prog"));
    // A cwd that was removed: the path is whole from the root, and says it is partial.
    assert_eq!(
        field(&orphan, "abs_path"),
        &format!("{root_s}/src/gone/orphan")
    );
    assert_eq!(field(&orphan, "abs_path_partial"), true);
    assert_eq!(field(&orphan, "error"), "ENOENT");
    // Nothing outside the scratch dir came through the path filter.
    assert!(
        events.iter().all(|e| {
            [
                &e["path"],
                &e["abs_path"],
                &e["new_abs_path"],
                &e["target_abs_path"],
            ]
            .iter()
            .any(|p| p.as_str().is_some_and(|p| p.starts_with(&root_s)))
        }),
        "{events:#?}"
    );
}

#[test]
fn legacy_system_calls_are_changes_too() {
    if !kernel_tests_enabled("legacy_system_calls_are_changes_too") {
        return;
    }
    let scratch = scratch_dir();
    let root = scratch.path().canonicalize().expect("canonical");
    let at = |name: &str| root.join(name);
    let ringside = Ringside::start(&["--events", CHANGES]);
    let path = |p: &Path| CString::new(p.as_os_str().as_bytes()).expect("no NUL");
    // SAFETY (this block): the legacy calls by number, with NUL-terminated paths; on x86_64
    // these are the system calls glibc's wrappers may no longer use.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_mkdir, path(&at("d")).as_ptr(), 0o700),
            0
        );
        assert_eq!(libc::syscall(libc::SYS_rmdir, path(&at("d")).as_ptr()), 0);
        std::fs::write(at("f"), b"12345").expect("write");
        assert_eq!(
            libc::syscall(libc::SYS_chmod, path(&at("f")).as_ptr(), 0o400),
            0
        );
        assert_eq!(
            libc::syscall(libc::SYS_chown, path(&at("f")).as_ptr(), 0, 0),
            0
        );
        assert_eq!(
            libc::syscall(libc::SYS_lchown, path(&at("f")).as_ptr(), 0, 0),
            0
        );
        assert_eq!(
            libc::syscall(libc::SYS_truncate, path(&at("f")).as_ptr(), 2),
            0
        );
        let (f, g) = (path(&at("f")), path(&at("g")));
        assert_eq!(libc::syscall(libc::SYS_link, f.as_ptr(), g.as_ptr()), 0);
        assert_eq!(
            libc::syscall(libc::SYS_rename, g.as_ptr(), path(&at("h")).as_ptr()),
            0
        );
        assert_eq!(
            libc::syscall(libc::SYS_symlink, f.as_ptr(), path(&at("s")).as_ptr()),
            0
        );
        assert_eq!(libc::syscall(libc::SYS_unlink, path(&at("s")).as_ptr()), 0);
        let flags = libc::RENAME_NOREPLACE;
        let renamed = libc::syscall(
            libc::SYS_renameat2,
            libc::AT_FDCWD,
            path(&at("h")).as_ptr(),
            libc::AT_FDCWD,
            f.as_ptr(),
            flags,
        );
        assert_eq!(renamed, -1, "NOREPLACE onto an existing file");
        // Each kind's failure.
        let missing = path(&at("missing"));
        assert_eq!(libc::syscall(libc::SYS_chmod, missing.as_ptr(), 0o600), -1);
        assert_eq!(libc::syscall(libc::SYS_chown, missing.as_ptr(), 0, 0), -1);
        assert_eq!(libc::syscall(libc::SYS_truncate, missing.as_ptr(), 0), -1);
        assert_eq!(
            libc::syscall(libc::SYS_link, missing.as_ptr(), g.as_ptr()),
            -1
        );
        assert_eq!(libc::syscall(libc::SYS_symlink, g.as_ptr(), f.as_ptr()), -1);
    }
    ringside.wait_for("the renameat2", |e| {
        is_type(e, "rename") && e["syscall"] == "renameat2"
    });
    let events = ringside.stop().events;
    let syscalls: Vec<&str> = events
        .iter()
        .filter(|e| e["pid"] == my_pid())
        .filter_map(|e| e["syscall"].as_str())
        .collect();
    for expected in [
        "mkdir",
        "rmdir",
        "chmod",
        "chown",
        "lchown",
        "truncate",
        "link",
        "rename",
        "symlink",
        "unlink",
        "renameat2",
    ] {
        assert!(
            syscalls.contains(&expected),
            "no {expected} among {syscalls:?}"
        );
    }
    let noreplace = events
        .iter()
        .find(|e| e["syscall"] == "renameat2")
        .expect("renameat2");
    assert_eq!(field(noreplace, "flags"), &serde_json::json!(["NOREPLACE"]));
    assert_eq!(field(noreplace, "error"), "EEXIST");
    let truncate = events
        .iter()
        .find(|e| e["syscall"] == "truncate")
        .expect("truncate");
    assert_eq!(field(truncate, "length"), 2);
    assert!(
        truncate.get("abs_path").is_none(),
        "an absolute path has no other form"
    );
}

#[test]
fn a_unix_socket_s_relative_path_is_resolved_against_the_cwd() {
    if !kernel_tests_enabled("a_unix_socket_s_relative_path_is_resolved_against_the_cwd") {
        return;
    }
    let scratch = scratch_dir();
    let root = scratch.path().canonicalize().expect("canonical");
    let _listener =
        std::os::unix::net::UnixListener::bind(root.join("rel.sock")).expect("bind unix socket");
    let program = root.join("connect-rel");
    let source = root.join("connect-rel.c");
    std::fs::write(
        &source,
        "#include <string.h>\n#include <sys/socket.h>\n#include <sys/un.h>\n#include <unistd.h>\n\
         int main(void) {\n\
           struct sockaddr_un a = { .sun_family = AF_UNIX };\n\
           strcpy(a.sun_path, \"rel.sock\");\n\
           int s = socket(AF_UNIX, SOCK_STREAM, 0);\n\
           return connect(s, (struct sockaddr *)&a, sizeof a) == 0 ? 0 : 1;\n\
         }\n",
    )
    .expect("write source");
    let built = Command::new("cc")
        .arg("-o")
        .arg(&program)
        .arg(&source)
        .status()
        .expect("cc");
    assert!(built.success());

    let ringside = Ringside::start(&["--events", "connect"]);
    let status = Command::new(&program)
        .current_dir(&root)
        .status()
        .expect("run");
    assert!(status.success(), "the connect failed");
    let connect = ringside.wait_for("the unix connect", |e| {
        is_type(e, "connect") && e["unix_path"] == "rel.sock"
    });
    assert_eq!(
        field(&connect, "unix_abs_path"),
        &format!("{}/rel.sock", path_string(&root))
    );
    assert!(ringside.stop().success);
}
